"""Fault tests: a real ``nfpbot run`` subprocess killed and restarted against the sandbox."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "faults: kills and restarts the real bot process (select with -m faults)"
    )
