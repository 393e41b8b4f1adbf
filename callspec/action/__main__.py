"""``python -m callspec.action``: the step ``action.yml`` runs (see :mod:`callspec.action`)."""

from __future__ import annotations

import os
import sys

from callspec.action.step import main

if __name__ == "__main__":
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="backslashreplace")  # a runner's log is UTF-8
    sys.exit(main(os.environ, sys.stdout))
