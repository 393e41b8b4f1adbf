"""The ``callspec`` command line: a thin click layer over the library.

``app`` holds the group and the entry point (each command's module loads only when
the command runs, and its exit code is the process's), ``common`` what every command
shares (error handling in one place, the spec-reading options), and each command
has a module of its own that parses its options into one frozen request, calls one
library function (:mod:`callspec.commands`, :mod:`callspec.execute`), writes the
result through its reporters and returns the result's exit code.  The library never
imports click; no Python traceback reaches a user.
"""

from callspec.cli.app import cli, main

__all__ = ["cli", "main"]
