"""Helpers shared by the exercise tests (not a test module)."""

from mlseg.checks import failure_message, run_checks


def failing(name, answer):
    """The names of the cases ``answer`` fails, and the message its check would raise."""
    results = run_checks(name, answer)
    return [r.case for r in results if not r.passed], failure_message(name, results) or ""
