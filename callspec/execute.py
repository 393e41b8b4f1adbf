"""The ``run`` command as a library call: plan, (check), (sandbox), send, report.

This module owns the order of a run and where its outputs go: build and validate the
whole plan first (nothing is sent when any call is invalid), check the calls' URLs when
asked (nothing is sent when a check fails), start the embedded sandbox for
``--sandbox``, pick the report and journal paths, send with progress lines.  Every way
a run can go (invalid specs, a plan of no call, a failed check, calls sent) ends in a
:class:`~callspec.results.RunResult` and the same ending: the terminal summary, then
every file of the report (:data:`callspec.report.registry.FORMATS`) and the GitHub step
summary, each rendered from the run's report document; the exit code is the result's.

What only the report needs (the reporters, Jinja for the page) loads after the last
call was placed.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from callspec.delivery.options import RunOptions
from callspec.delivery.request import DEFAULT_API_URL
from callspec.delivery.runner import Runner
from callspec.errors import CallspecError, GuardError, Problem, SpecError
from callspec.redact import Redactor, environment_secrets
from callspec.report.base import shown
from callspec.report.outputs import (
    NamedOutput,
    Outputs,
    check_distinct,
    check_writable,
    default_report_path,
    input_files,
    output_paths,
)
from callspec.report.progress import BarFactory, Progress
from callspec.report.utf8 import utf8_stream
from callspec.results import Mode, RunResult, now_iso
from callspec.sandbox.embedded import embedded, warn_undialed
from callspec.spec.plan import Plan, PlanOptions, build_plan

__all__ = ["OutputError", "Outputs", "RunRequest", "execute"]

if TYPE_CHECKING:
    from callspec.check.checker import CheckOptions
    from callspec.check.model import UrlCheck
    from callspec.sandbox.outcomes import SimulationConfig


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


@dataclass
class _Run:
    """What one run is made of as it goes: its request, streams, the redactor every output
    passes (more secrets join it once the plan is known), where the report goes."""

    request: RunRequest
    environ: Mapping[str, str]
    out: TextIO
    err: TextIO
    stop: threading.Event | None
    redactor: Redactor
    report_path: Path
    selection: Mapping[str, Any]
    #: The journal the runner wrote, to name beside the report (None: no call was sent).
    journal: Path | None = None


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
    report_path = request.outputs.report or default_report_path()
    named, options = output_paths(report_path, request.outputs, request.options)
    # Before the plan: a usage error comes first, and an invalid run writes its report too.
    check_distinct(named, options.resume, input_files(request.paths, request.plan, environ))
    run = _Run(
        request,
        environ,
        utf8_stream(out),  # a non-UTF-8 name or value prints
        utf8_stream(err),
        stop,
        # The environment's secrets (a dry run too, as callspec report masks); the plan's
        # declared secrets join, then the credentials the runner uses.
        Redactor(environment_secrets(environ)),
        report_path,
        _selection(request),
    )
    result = _outcome(run, named, options, bar)
    _finish(run, result)
    return result, report_path


def _selection(request: RunRequest) -> dict[str, Any]:
    """The options that chose the calls, for the report (variables by name: values may be
    secret)."""
    plan = request.plan
    return {
        "paths": [str(p) for p in request.paths],
        "profiles": str(plan.profiles) if plan.profiles else None,
        "profile": plan.profile,
        "only": list(plan.only),
        "tags": list(plan.tags),
        "vars": [name for name, _ in plan.vars],
        "vars_file": str(plan.vars_file) if plan.vars_file else None,
    }


def _outcome(
    run: _Run, named: list[NamedOutput], options: RunOptions, bar: BarFactory | None
) -> RunResult:
    """The run's result, however it goes: invalid specs (nothing sent; the report says
    why), a plan of no call, a failed ``--check`` (nothing sent), or the calls placed."""
    request = run.request
    plan_options = request.plan
    if options.resume is not None and plan_options.at is None:
        plan_options = _as_journaled(plan_options, options.resume, run.err)
    try:
        plan = build_plan(request.paths, plan_options, run.environ)
    except SpecError as e:
        files = tuple(dict.fromkeys(p.location.file for p in e.problems))
        return _no_calls(run, files, problems=tuple(e.problems))
    # Checked before anything is sent: finding an unwritable report after the calls
    # rang would lose what they did.
    for output in named:
        check_writable(output.path, regular=output.option == "--journal")
    run.redactor.add(plan.secret_values)
    from callspec.delivery.request import refuse_flag_urls

    # Here, not in the CLI: the words on a refused URL may quote a profile's secret.
    refuse_flag_urls(
        {"--api-url": options.api_url, "--service": options.service}, run.redactor.text
    )
    if options.resume is not None and any(c.on_call for c in plan.calls):
        _same_chains(run, options.resume, plan)
    if not plan.calls:  # every each_where kept no row (warned): a run of no call
        return _no_calls(run, plan.files)
    checks = _check_urls(run, plan)
    if any(not c.ok for c in checks) and not (run.stop is not None and run.stop.is_set()):
        return _no_calls(run, plan.files, checks=checks)
    return _send(run, plan, options, checks, bar)


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


def _same_chains(run: _Run, journal: Path, plan: Plan) -> None:
    """Refuse (exit 4) a resume whose schedules now resolve, at the journal's instant, to
    other people than the journal's run paged from: that is no chain it started."""
    from callspec.oncall.resume import changed_chains

    changed = changed_chains(journal, plan.calls)
    if changed:
        raise GuardError(run.redactor.text("; ".join(changed)))


def _send(
    run: _Run,
    plan: Plan,
    options: RunOptions,
    checks: tuple[UrlCheck, ...],
    bar: BarFactory | None,
) -> RunResult:
    """Place the plan's calls, with progress; the runner's result."""
    request, err, stop = run.request, run.err, run.stop
    if request.simulate is not None and request.simulate.answer_by:
        warn_undialed(request.simulate, plan, err, run.redactor)
    outputs = request.outputs
    sandbox: contextlib.AbstractContextManager[RunOptions] = contextlib.nullcontext(options)
    if request.sandbox:
        sandbox = embedded(
            plan, options, request.simulate, outputs.quiet, run.environ, err, stop, run.redactor
        )
    with sandbox as options:
        drawn = bar(len(plan.calls)) if bar is not None and outputs.progress is not False else None
        progress = Progress(err, len(plan.calls), run.redactor, drawn, quiet=outputs.quiet)
        try:  # the bar ends its line (and gives the cursor back) whatever is raised
            runner = Runner(
                plan, options, run.environ, run.redactor, progress.update, stop, progress.note
            )
            matched = runner.resume_matched
            if matched is not None:
                progress.note(
                    f"callspec: resuming from {options.resume}: {matched} of its calls "
                    f"{'is' if matched == 1 else 'are'} in this run"
                )
            sending = runner.to_send()  # not the calls a resumed journal (or a hold) settled
            if options.mode != "dry-run" and not (stop is not None and stop.is_set()):
                where = "the embedded sandbox at " if options.mode == "sandbox" else ""
                progress.note(
                    f"callspec: sending {sending} call(s) to {where}{runner.api_url()} "
                    f"at {runner.rate:g}/s, {options.concurrency} worker(s)"
                    if sending
                    else f"callspec: nothing to send: all {len(plan.calls)} call(s) are settled "
                    "already (by the resumed journal, or held)"
                )
                if options.wait is not None and sending:
                    progress.note(
                        f"callspec: then following each placed call until it ends, at most "
                        f"{options.wait.seconds:g} s (--wait)"
                    )
            result = runner.run()
        finally:
            progress.close()
    result = replace(result, options={**run.selection, **result.options}, checks=checks)
    if runner.halt is not None and runner.halt.kind != "interrupt":
        advice = _halt_advice(runner, result, request.paths, options)
        err.write(shown(advice, run.redactor, cap=None) + "\n")
    run.journal = options.journal
    return result


def _no_calls(
    run: _Run,
    files: tuple[str, ...],
    problems: tuple[Problem, ...] = (),
    checks: tuple[UrlCheck, ...] = (),
) -> RunResult:
    """The result of a run that sends nothing: invalid specs (``problems``), a plan
    every ``each_where`` emptied, or a failed ``--check`` (``checks``)."""
    request = run.request
    started = now_iso()
    mode: Mode = "sandbox" if request.sandbox else request.options.mode
    return RunResult(
        run_id=uuid.uuid4().hex[:12],
        mode=mode,
        api_url=request.options.api_url or DEFAULT_API_URL,
        started=started,
        finished=started,
        options=run.selection,
        calls=(),
        files=files,
        problems=problems,
        checks=checks,
    )


def _check_urls(run: _Run, plan: Plan) -> tuple[UrlCheck, ...]:
    """``--check``: every URL checked before anything is sent (a failure sends nothing)."""
    if run.request.check is None:
        return ()
    from callspec.check.checker import check_plan
    from callspec.report.checks import totals_words

    checks = check_plan(
        plan.calls, run.request.check, run.environ, run.redactor.text, stop=run.stop
    )
    if all(c.ok for c in checks) and not run.request.outputs.quiet:
        run.err.write(f"callspec: {totals_words(len(checks), 0)}\n")
    return checks


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


def _finish(run: _Run, result: RunResult) -> None:
    """Every run's one ending: the terminal, then the report's files; the report's path
    last on standard output.  An output that cannot be written fails a run that would
    otherwise exit 0."""
    from callspec.report.document import run_report
    from callspec.report.terminal import write_terminal

    # Whatever fails from here on, the summary still reaches the terminal.
    report = run_report(result, run.redactor)
    write_terminal(report, result, run.redactor, run.out, run.err, run.request.outputs.quiet)
    run.out.flush()  # before a report written to /dev/stdout
    failures, report_written = _write_outputs(run, report)
    if not run.request.outputs.quiet:
        # Only files that exist are named: a report that could not be written is not.
        named = [f"report: {run.report_path}"] if report_written else []
        if run.journal:
            named.append(f"journal {run.journal}" if named else f"journal: {run.journal}")
        if named:
            run.out.write(", ".join(named) + "\n")
            run.out.flush()
    if failures and result.exit_code() == 0:
        raise OutputError("; ".join(failures))


def _write_outputs(run: _Run, report: Mapping[str, Any]) -> tuple[list[str], bool]:
    """The JSON report, each other file of the report and the GitHub step summary; what
    could not be written, and whether the JSON report was."""
    from callspec.report.base import ReportError
    from callspec.report.github import append_github_summary
    from callspec.report.registry import write_report

    failures = []
    report_written = False
    for kind, path in (("json", run.report_path), *run.request.outputs.files):
        try:
            write_report(kind, report, run.redactor, path, run.stop)
            report_written = report_written or kind == "json"
        except OSError as e:
            failures.append(f"cannot write {path}: {e.strerror or e}")
        except ReportError as e:
            failures.append(f"refused to write {path}: {e}")
    try:
        append_github_summary(report, run.redactor, run.environ)
    except OSError as e:
        failures.append(f"cannot append to GITHUB_STEP_SUMMARY: {e.strerror or e}")
    for failure in failures:
        run.err.write(f"callspec: {shown(failure, run.redactor)}\n")
    return failures, report_written


class OutputError(CallspecError):
    """A report could not be written after the run (the calls' outcomes are above)."""
