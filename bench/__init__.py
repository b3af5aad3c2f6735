"""Benchmarks: throughput of the questionnaire against a simulated Bot API, start-up cost.

Run from the repository root, e.g. ``.venv/bin/python -m bench.report_throughput``.
"""
