"""The ``run`` command as a library call: plan, (sandbox), send, report.

This module owns the order of a run and where its outputs go: build and validate the
whole plan first (nothing is sent when any call is invalid), check the calls' URLs when
asked (nothing is sent when a check fails), start the embedded sandbox for
``--sandbox``, pick the report and journal paths, send with progress lines, then write
the JSON report, the JUnit file, the terminal summary and the GitHub step summary, every
one through the run's :class:`~callspec.redact.Redactor`.
"""

from __future__ import annotations

import contextlib
import io
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, cast

from callspec.check.checker import CheckOptions
from callspec.check.model import UrlCheck
from callspec.delivery.credentials import Credentials, credentials_for
from callspec.delivery.request import DEFAULT_API_URL
from callspec.delivery.runner import Runner, RunOptions
from callspec.errors import CallspecError, ExitCode, GuardError, Problem, SpecError, UsageError
from callspec.redact import Redactor, environment_secrets
from callspec.report import REPORTERS, ReportError, append_github_summary, write_report
from callspec.report.checks import check_rows, check_totals
from callspec.report.outputs import (
    NamedOutput,
    check_distinct,
    check_writable,
    same_file,
    writes_in_place,
)
from callspec.report.progress import BarFactory, Progress
from callspec.report.text import write_quiet
from callspec.report.utf8 import utf8_stream
from callspec.results import Mode, RunResult, now_iso
from callspec.sandbox import DEFAULT_AUTH_ID, DEFAULT_AUTH_TOKEN
from callspec.spec.plan import Plan, PlanOptions, build_plan, collect_spec_files
from callspec.spec.profiles import find_profiles_file

if TYPE_CHECKING:
    from callspec.sandbox.outcomes import SimulationConfig

RUNS_DIR = Path(".callspec") / "runs"


@dataclass(frozen=True)
class Outputs:
    """Where a run writes: report, JUnit and HTML paths (None: defaults / none)."""

    report: Path | None = None
    junit: Path | None = None
    progress: bool | None = None  # False: lines even where a bar is offered
    html: Path | None = None
    #: Only problems and the one-line summary (no line per call, no table, no notes).
    quiet: bool = False


def default_report_path() -> Path:
    """``.callspec/runs/<UTC time>/report.json`` in the working directory."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    return RUNS_DIR / stamp / "report.json"


def journal_beside(report: Path) -> Path:
    """The journal's default path: next to the report.

    A report written into a device, a FIFO or a descriptor (``/dev/null``,
    ``/dev/stdout``) has no folder of its own: the journal goes where a default
    report would be.
    """
    if writes_in_place(report):
        report = default_report_path()
    return report.with_name(report.stem + ".journal.jsonl")


def output_paths(
    report: Path, outputs: Outputs, options: RunOptions
) -> tuple[list[NamedOutput], RunOptions]:
    """Every file the run writes, by the option naming it; and the options with the
    journal's default filled in (the resumed journal, else beside the report).

    A new output (``--html``) is one more line here: the checks go over this list.
    """
    journal, journal_default = options.journal, ""
    if journal is None and options.mode != "dry-run":
        if options.resume is not None:
            journal, journal_default = options.resume, "the --resume journal"
        else:
            journal, journal_default = journal_beside(report), "beside the report"
    elif journal is not None and options.resume is not None and same_file(journal, options.resume):
        journal = options.resume  # one spelling, so the runner opens and locks it once
    named = [
        NamedOutput("--report", report, "" if outputs.report else "a new run folder"),
        NamedOutput("--junit", outputs.junit) if outputs.junit else None,
        NamedOutput("--html", outputs.html) if outputs.html else None,
        NamedOutput("--journal", journal, journal_default) if journal else None,
    ]
    return [n for n in named if n is not None], replace(options, journal=journal)


def input_files(
    paths: Sequence[Path], options: PlanOptions, environ: Mapping[str, str]
) -> list[tuple[str, Path]]:
    """What the run reads (spec files, profiles files, the vars file), none to be overwritten."""
    try:
        specs = collect_spec_files(paths)
    except UsageError:
        return []  # the plan says so, with its own words
    inputs = [("the spec file", spec) for spec in specs]
    for folder in dict.fromkeys(spec.parent for spec in specs):
        found = find_profiles_file(options.profiles, folder, environ)
        if found is not None:
            inputs.append(("the profiles file", found))
    if options.vars_file is not None:
        inputs.append(("the vars file", options.vars_file))
    return list(dict.fromkeys(inputs))


def _sandbox_credentials(plan: Plan, environ: Mapping[str, str]) -> Credentials:
    """The user's credentials when they resolve, else the sandbox's own."""
    try:
        return credentials_for(plan.calls[0], environ)
    except GuardError:
        return Credentials(DEFAULT_AUTH_ID, DEFAULT_AUTH_TOKEN)


@contextlib.contextmanager
def _maybe_sandbox(
    plan: Plan,
    options: RunOptions,
    request: RunRequest,
    environ: Mapping[str, str],
    err: TextIO,
    stop: threading.Event | None,
    redactor: Redactor,
) -> Iterator[RunOptions]:
    if not request.sandbox:
        yield options
        return
    from callspec.sandbox.server import Sandbox, SandboxConfig  # loaded only for --sandbox

    creds = _sandbox_credentials(plan, environ)
    config = SandboxConfig(
        auth_id=creds.auth_id,
        auth_token=creds.auth_token,
        simulate=request.simulate,
        # --quiet: no step lines (the report keeps every step), only problems and the summary.
        simulate_log=None if request.outputs.quiet else cast(TextIO, _Masked(err, redactor)),
    )
    with Sandbox(config) as box:
        yield replace(options, mode="sandbox", api_url=box.url, credentials=creds)
        # --simulate: every call is played to its end (Ctrl-C hangs the rest up).
        while not box.wait_for_calls(0.1):
            if stop is not None and stop.is_set():
                break


class _Masked(io.TextIOBase):
    """A stream whose text passes the run's redactor (the simulation's step lines)."""

    def __init__(self, out: TextIO, redactor: Redactor) -> None:
        self._out, self._redactor = out, redactor

    def write(self, text: str) -> int:
        self._out.write(self._redactor.text(text))
        return len(text)

    def flush(self) -> None:
        self._out.flush()


@dataclass(frozen=True)
class RunRequest:
    """What ``callspec run`` was asked: the specs, how to plan, how to send, where to write."""

    paths: tuple[Path, ...]
    plan: PlanOptions
    options: RunOptions
    outputs: Outputs = field(default_factory=Outputs)
    #: Start the embedded sandbox and send there.
    sandbox: bool = False
    #: With ``sandbox``: play each call (``--simulate``) and wait for all to end.
    simulate: SimulationConfig | None = None
    #: Check the calls' URLs first (``--check``); a failed check sends nothing.
    check: CheckOptions | None = None


def execute(
    request: RunRequest,
    environ: Mapping[str, str],
    out: TextIO,
    err: TextIO,
    stop: threading.Event | None = None,
    bar: BarFactory | None = None,
) -> tuple[RunResult, Path]:
    """Run the request's specs; return the result and the report's path.

    ``bar`` draws the progress bar (the CLI's, on a terminal); without one, progress
    is a line per call on ``err``.
    """
    paths, plan_options, run_options = request.paths, request.plan, request.options
    outputs = request.outputs
    out, err = utf8_stream(out), utf8_stream(err)  # a non-UTF-8 name or value prints
    report_path = outputs.report or default_report_path()
    named, run_options = output_paths(report_path, outputs, run_options)
    # Before the plan: a usage error comes first, and an invalid run writes its report too.
    check_distinct(named, run_options.resume, input_files(paths, plan_options, environ))
    selection = {
        "paths": [str(p) for p in paths],
        "profiles": str(plan_options.profiles) if plan_options.profiles else None,
        "profile": plan_options.profile,
        "only": list(plan_options.only),
        "tags": list(plan_options.tags),
        "vars": [name for name, _ in plan_options.vars],  # names only: values may be secret
        "vars_file": str(plan_options.vars_file) if plan_options.vars_file else None,
    }
    if run_options.resume is not None and plan_options.at is None:
        plan_options = _as_journaled(plan_options, run_options.resume, err)
    try:
        plan = build_plan(paths, plan_options, environ)
    except SpecError as e:
        # Nothing is sent; the report and the JUnit file still say why, for CI.
        files = tuple(dict.fromkeys(p.location.file for p in e.problems))
        invalid = _no_calls(request, selection, files, tuple(e.problems))
        mask = Redactor(environment_secrets(environ))
        _write_outputs(invalid, report_path, outputs, environ, mask, err, stop)
        if not outputs.quiet:
            out.write(f"report: {report_path}\n")
        raise
    # Checked before anything is sent: finding an unwritable report after the calls
    # rang would lose what they did.
    for output in named:
        check_writable(output.path, regular=output.option == "--journal")
    # The run's one redactor: the environment's secrets (a dry run too, as callspec report
    # masks) and every declared secret; the runner adds the credentials it uses.
    redactor = Redactor([*environment_secrets(environ), *plan.secret_values])
    if not plan.calls:  # every each_where kept no row (warned): a run of no call
        empty = _no_calls(request, selection, plan.files, ())
        if outputs.quiet:
            write_quiet(empty, redactor, out)
        else:
            REPORTERS["text"].write(empty, redactor, out)
            out.write(f"report: {report_path}\n")
        out.flush()
        _write_outputs(empty, report_path, outputs, environ, redactor, err, stop)
        return empty, report_path
    checks = _check_urls(request, plan, selection, report_path, environ, redactor, out, err, stop)
    if request.simulate is not None and request.simulate.answer_by:
        _warn_undialed(request.simulate, plan, err, redactor)
    with _maybe_sandbox(plan, run_options, request, environ, err, stop, redactor) as options:
        drawn = bar(len(plan.calls)) if bar is not None and outputs.progress is not False else None
        progress = Progress(err, len(plan.calls), redactor, drawn, quiet=outputs.quiet)
        try:  # the bar ends its line (and gives the cursor back) whatever is raised
            runner = Runner(plan, options, environ, redactor, progress.update, stop, progress.note)
            if runner.resume_matched is not None:
                progress.note(
                    f"callspec: resuming from {options.resume}: {runner.resume_matched} of its "
                    "calls are in this run"
                )
            if options.mode != "dry-run" and not (stop is not None and stop.is_set()):
                where = "the embedded sandbox at " if options.mode == "sandbox" else ""
                progress.note(
                    f"callspec: sending {len(plan.calls)} call(s) to {where}{runner.api_url()} "
                    f"at {runner.rate:g}/s, {options.concurrency} worker(s)"
                )
                if options.wait is not None:
                    progress.note(
                        f"callspec: then following each placed call until it ends, at most "
                        f"{options.wait.seconds:g} s (--wait)"
                    )
            result = runner.run()
        finally:
            progress.close()
    result = replace(result, options={**selection, **result.options}, checks=checks)
    if runner.halt is not None and runner.halt.kind != "interrupt":
        err.write(redactor.text(_halt_advice(runner, result, paths, options) + "\n"))
    # Whatever fails from here on, the summary still reaches the terminal.
    if outputs.quiet:
        write_quiet(result, redactor, out)
    else:
        REPORTERS["text"].write(result, redactor, out)
    journal = f", journal {options.journal}" if options.journal else ""
    if not outputs.quiet:
        out.write(f"report: {report_path}{journal}\n")
    out.flush()  # before a report written to /dev/stdout
    failures = _write_outputs(result, report_path, outputs, environ, redactor, err, stop)
    if failures and result.exit_code() == ExitCode.OK:
        raise OutputError("; ".join(failures))
    return result, report_path


def _as_journaled(plan_options: PlanOptions, journal: Path, err: TextIO) -> PlanOptions:
    """A resumed run resolves rotations at the instant the journal's run did (a hand-off
    since then must not start a new chain); the oncall package loads only for such a
    journal."""
    with journal.open("rb") as f:
        if not any(b'"on_call"' in line for line in f):
            return plan_options
    from callspec.oncall.resume import journaled_instant

    at = journaled_instant(journal)
    if at is None:
        return plan_options
    shown = at.isoformat().replace("+00:00", "Z")
    err.write(f"callspec: resuming: rotations resolved at {shown}, as the journal's run did\n")
    return replace(plan_options, at=at)


def _no_calls(
    request: RunRequest,
    selection: Mapping[str, Any],
    files: tuple[str, ...],
    problems: tuple[Problem, ...],
) -> RunResult:
    """The result of a run that sends nothing: invalid specs (``problems``), a plan
    every ``each_where`` emptied, or a failed ``--check``."""
    started = now_iso()
    mode: Mode = "sandbox" if request.sandbox else request.options.mode
    return RunResult(
        run_id=uuid.uuid4().hex[:12],
        mode=mode,
        api_url=request.options.api_url or DEFAULT_API_URL,
        started=started,
        finished=started,
        options=selection,
        calls=(),
        files=files,
        problems=problems,
    )


def _warn_undialed(simulate: SimulationConfig, plan: Plan, err: TextIO, mask: Redactor) -> None:
    """``--answer-by`` naming a destination no call dials: said, not silently unused."""
    from callspec.sandbox.outcomes import undialed

    dialed = (d for c in plan.calls for d in str(c.body.get("to", "")).split("<"))
    for destination, close in undialed(simulate.answer_by, dialed):
        hint = f" (did you mean {close}?)" if close else ""
        err.write(
            mask.text(
                f"callspec: warning: --answer-by {destination}: no call dials it; "
                f"its outcome is never played{hint}\n"
            )
        )


def _check_urls(
    request: RunRequest,
    plan: Plan,
    selection: Mapping[str, Any],
    report_path: Path,
    environ: Mapping[str, str],
    mask: Redactor,
    out: TextIO,
    err: TextIO,
    stop: threading.Event | None,
) -> tuple[UrlCheck, ...]:
    """``--check``: every URL checked before anything is sent; a failure sends nothing and
    still writes the report (and JUnit) saying why."""
    if request.check is None:
        return ()
    from callspec.check.checker import check_plan, check_problems

    checks = check_plan(plan.calls, request.check, stop=stop)
    if stop is not None and stop.is_set():  # interrupted: the runner records it, sends nothing
        return checks
    quiet = request.outputs.quiet  # only the problems and the one-line summary (CheckFailed)
    if all(c.ok for c in checks):
        if not quiet:
            err.write(f"callspec: {check_totals(checks)}\n")
        return checks
    failed = replace(_no_calls(request, selection, plan.files, ()), checks=checks)
    for line in () if quiet else check_rows(checks, mask):
        out.write(line + "\n")
    for problem in check_problems(checks):
        err.write(mask.text(str(problem)) + "\n")
    _write_outputs(failed, report_path, request.outputs, environ, mask, err, stop)
    if not quiet:
        out.write(f"report: {report_path}\n")
    raise CheckFailed(f"{check_totals(checks)}; nothing was sent")


class CheckFailed(CallspecError):
    """``run --check``: a URL check failed, so no call was placed."""

    exit_code = ExitCode.INVALID


def _halt_advice(
    runner: Runner, result: RunResult, paths: Sequence[Path], options: RunOptions
) -> str:
    """What stopped the run early and how to go on, for stderr."""
    assert runner.halt is not None
    unsent = sum(1 for c in result.calls if c.skip_kind == "halt")
    resume = f"callspec run {' '.join(str(p) for p in paths)} --resume {options.journal}"
    if runner.halt.kind == "journal":
        todo = "Free space on that disk (or fix it), then resume"
    else:
        todo = "Check the API (and the unknown calls: they may have rung), then resume"
    return (
        f"callspec: {runner.halt.reason}; sending stopped, {unsent} call(s) not sent "
        f"(recorded as skipped). {todo}: {resume}"
    )


def _write_outputs(
    result: RunResult,
    report_path: Path,
    outputs: Outputs,
    environ: Mapping[str, str],
    redactor: Redactor,
    err: TextIO,
    stop: threading.Event | None = None,
) -> list[str]:
    """The JSON report, the JUnit and HTML files and the GitHub summary; what could not be
    written."""
    failures = []
    for kind, path in (("json", report_path), ("junit", outputs.junit), ("html", outputs.html)):
        if path is not None:
            try:
                write_report(kind, result, redactor, path, stop)  # type: ignore[arg-type]
            except OSError as e:
                failures.append(f"cannot write {path}: {e.strerror or e}")
            except ReportError as e:
                failures.append(f"refused to write {path}: {e}")
    try:
        append_github_summary(result, redactor, environ)
    except OSError as e:
        failures.append(f"cannot append to GITHUB_STEP_SUMMARY: {e.strerror or e}")
    for failure in failures:
        err.write(redactor.text(f"callspec: {failure}\n"))
    return failures


class OutputError(CallspecError):
    """A report could not be written after the run (the calls' outcomes are above)."""
