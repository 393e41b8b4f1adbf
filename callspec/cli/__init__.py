"""The ``callspec`` command line: a thin click layer over the library.

``app`` holds the group and the entry point, ``common`` what every command
shares (error handling in one place, the spec-reading options), and each
command has a module of its own that parses its options into one frozen
options object and calls one library function.  The library never imports
click; no Python traceback reaches a user.
"""

from callspec.cli import (  # noqa: F401 (registers the commands)
    check,
    explain,
    importer,
    init,
    oncall,
    render,
    report,
    run,
    sandbox,
    schema,
    serve,
    validate,
)
from callspec.cli.app import cli, main

__all__ = ["cli", "main"]
