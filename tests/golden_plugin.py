"""The ``--update-golden`` option of tests/cli/test_golden.py (loaded by tests/conftest.py).

A command-line option must be registered before pytest collects anything, so it
cannot live in the test module itself; ``CALLSPEC_UPDATE_GOLDEN=1`` does the same
without this plugin.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="Re-record tests/golden from the current program instead of comparing.",
    )
