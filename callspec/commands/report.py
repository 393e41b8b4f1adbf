"""``callspec report`` as a library call: any format of a saved run's report, rebuilt.

The saved ``report.json`` is read back as the report document (checked against
its schema, masked as a run masks) and each format asked for is rendered from it
by the reporter a run uses: the same bytes as the run wrote, or would have.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from callspec.errors import ExitCode, UsageError
from callspec.redact import Redactor, environment_secrets
from callspec.report.registry import ReportKind


@dataclass(frozen=True)
class Wanted:
    """One format to write, where (None: standard output), and the option that asked."""

    kind: ReportKind
    path: Path | None = None
    option: str = "-o"


@dataclass(frozen=True)
class ReportRequest:
    """What ``callspec report`` was asked: the saved report, and each format to write."""

    report: Path
    outputs: tuple[Wanted, ...]


@dataclass(frozen=True)
class ReportResult:
    """What was written, and what could not be (exit 1) or was refused (exit 2)."""

    written: tuple[Wanted, ...] = ()
    failures: tuple[str, ...] = ()
    usage: str | None = None

    def exit_code(self) -> ExitCode:
        if self.usage is not None:
            return ExitCode.USAGE
        return ExitCode.CALL_FAILED if self.failures else ExitCode.OK


def rebuild(request: ReportRequest, environ: Mapping[str, str], stdout: TextIO) -> ReportResult:
    """Write each format of the request's saved report; nothing when it is no report."""
    from callspec.paths import same_file
    from callspec.report.document import read_report
    from callspec.report.outputs import NamedOutput, check_distinct
    from callspec.report.registry import write_report, write_stream

    if not request.outputs:
        return ReportResult(usage="say what to write: --html FILE, or --format FORMAT [-o FILE]")
    named = [NamedOutput(w.option, w.path) for w in request.outputs if w.path is not None]
    for output in named:
        if same_file(output.path, request.report):
            return ReportResult(usage=f"{output.option} names the report it reads")
    redactor = Redactor(environment_secrets(environ))
    try:
        check_distinct(named)
        document = read_report(request.report, redactor)
    except UsageError as e:
        return ReportResult(usage=str(e))
    written, failures = [], []
    for wanted in request.outputs:
        try:
            if wanted.path is None:
                write_stream(wanted.kind, document, redactor, stdout)
            else:
                write_report(wanted.kind, document, redactor, wanted.path)
        except OSError as e:
            where = wanted.path or "standard output"
            failures.append(f"cannot write {where}: {e.strerror or e}")
        else:
            written.append(wanted)
    return ReportResult(tuple(written), tuple(failures))
