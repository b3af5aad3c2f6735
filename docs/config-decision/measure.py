"""Measure msgspec, pydantic v2 and cattrs against bot/config's hand-written reader.

Run in a scratch venv that has the three libraries (not the project's)::

    python3 -m venv /tmp/cfgvenv && /tmp/cfgvenv/bin/pip install msgspec 'pydantic>=2' cattrs
    /tmp/cfgvenv/bin/python docs/config-decision/measure.py /path/to/project/.venv/bin/python

Each prototype (proto_*.py) reads the shipped config.toml's bot, questionnaire, topics and
regions sections into typed structures like bot/config's, with unknown keys forbidden and
no coercion. Printed: what each says for typos pinned in tests/config/test_config.py, then
the import and parse time of each (medians of 5 fresh processes).
"""

from __future__ import annotations

import ast
import statistics
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TESTS = ROOT / "tests" / "config" / "test_config.py"
SHIPPED = ROOT / "config.toml"

# (id, old snippet, new snippet): rows of test_config.py's BAD
CASES = [
    ("unknown-top-level", "[questionnaire]\n", "[questionaire]\n"),
    ("unknown-question-key", "min = 0\nmax = 1000", "minimum = 0\nmax = 1000"),
    ("unknown-region-key", "admins = [222]", "admin = [222]"),
    ("unknown-country-key", "population = 6524000", "populaton = 6524000"),
    ("min-string", "min = 0\nmax = 1000", 'min = "zero"\nmax = 1000'),
    ("min-float", "min = 0\nmax = 1000", "min = 0.5\nmax = 1000"),
    ("country-timezone", 'timezone = "Asia/Bishkek"', 'timezone = "Asia/Bishkekk"'),
]


def base_config() -> str:
    """test_config.py's BASE, read without importing the test (it needs pytest and babel)."""
    for node in ast.parse(TESTS.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "BASE":
            value = ast.literal_eval(node.value)
            assert isinstance(value, str)
            return value
    raise LookupError("BASE")


def errors(module: Any) -> None:
    base = base_config()
    module.parse(tomllib.loads(SHIPPED.read_text(encoding="utf-8")))  # the shipped file is valid
    for id_, old, new in CASES:
        assert base.count(old) == 1, old
        print(f"  {id_:22} {module.error(tomllib.loads(base.replace(old, new)))!r}")


TIMING = r"""
import sys, time, tomllib
sys.path[:0] = [{here!r}, {root!r}]
t0 = time.perf_counter()
{imp}
t1 = time.perf_counter()
data = tomllib.loads(open({shipped!r}, encoding="utf-8").read())
t2 = time.perf_counter(); {call}; t3 = time.perf_counter()
for _ in range(20): {call}
t4 = time.perf_counter()
for _ in range(100): {call}
t5 = time.perf_counter()
print((t1 - t0) * 1e3, (t3 - t2) * 1e3, (t5 - t4) / 100 * 1e6)
"""


def timings(ours: str) -> None:
    lib = sys.executable
    reader = ROOT / "bot" / "config" / "reader.py"
    rows = [
        ("import msgspec", lib, "import msgspec", "pass"),
        ("msgspec prototype", lib, "import proto_msgspec as m", "m.parse(data)"),
        ("import pydantic", lib, "from pydantic import BaseModel", "pass"),
        ("pydantic prototype", lib, "import proto_pydantic as m", "m.parse(data)"),
        ("import cattrs, attrs", lib, "import cattrs, attrs", "pass"),
        ("cattrs prototype", lib, "import proto_cattrs as m", "m.parse(data)"),
        (
            "bot/config/reader.py alone",
            lib,
            "import importlib.util as u; s = u.spec_from_file_location('r', "
            f"{str(reader)!r}); r = u.module_from_spec(s); s.loader.exec_module(r)",
            "pass",
        ),
        ("bot.config, every check", ours, "import bot.config as m", "m.parse_config(data, env={})"),
    ]
    runs: dict[str, list[list[float]]] = {name: [] for name, *_ in rows}
    for _ in range(5):  # interleaved, so a burst of load hits every row alike
        for name, python, imp, call in rows:
            code = TIMING.format(
                here=str(HERE), root=str(ROOT), shipped=str(SHIPPED), imp=imp, call=call
            )
            out = subprocess.run(
                [python, "-c", code], cwd="/", capture_output=True, text=True, check=True
            ).stdout
            runs[name].append([float(x) for x in out.split()])
    print(f"  {'':28} {'import ms':>10} {'(min)':>7} {'1st parse ms':>13} {'warm parse us':>14}")
    for name, values in runs.items():
        imports, first, warm = zip(*values, strict=True)
        print(
            f"  {name:28} {statistics.median(imports):10.1f} {min(imports):7.1f} "
            f"{statistics.median(first):13.2f} {statistics.median(warm):14.0f}"
        )


def main() -> None:
    sys.path[:0] = [str(HERE)]
    for name in ("proto_msgspec", "proto_pydantic", "proto_cattrs"):
        print(name)
        errors(__import__(name))
    timings(sys.argv[1] if len(sys.argv) > 1 else str(ROOT / ".venv" / "bin" / "python"))


if __name__ == "__main__":
    main()
