"""``callspec run``: validate the whole run, then place the calls and write the report.

The options become one :class:`~callspec.execute.RunRequest`; the send stage
loads only here, never for ``--help`` or the other commands.  The options that
write the report's files (``--report``, ``--junit``, ``--html``) come from the
report registry (:data:`callspec.report.registry.FORMATS`).
"""

from __future__ import annotations

import functools
import os
import sys
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from callspec import defaults
from callspec.cli.app import cli
from callspec.cli.check import check_options
from callspec.cli.common import F, FiniteFloat, handled, plan_options, quiet_option
from callspec.cli.interrupts import install_stop_handlers
from callspec.cli.sandbox import simulate_options, simulation

if TYPE_CHECKING:
    from callspec.sandbox.outcomes import Outcome, Share
    from callspec.spec.plan import PlanOptions

DEFAULT_WAIT = defaults.FOLLOW  # --wait without SECONDS


def report_file_options(func: F) -> F:
    """An option per report format a run can write to a file (``--report``, ``--junit``,
    ``--html``: the registry's), handed over as ``files``: (format, path) pairs."""
    from callspec.report.registry import FORMATS

    kinds = [(f, f.run_option) for f in FORMATS.values() if f.run_option is not None]

    @functools.wraps(func)
    def wrapper(**kwargs: Any) -> Any:
        files = [(f.name, kwargs.pop(f"file_{f.name}")) for f, _ in kinds]
        return func(files=tuple((k, p) for k, p in files if p is not None), **kwargs)

    decorated: Any = wrapper
    for f, option in reversed(kinds):
        decorated = click.option(
            option,
            f"file_{f.name}",
            type=click.Path(path_type=Path, dir_okay=False),
            help=f.run_help,
        )(decorated)
    return decorated  # type: ignore[no-any-return]


def seconds_or_default(args: Sequence[str], option: str = "--wait") -> list[str]:
    """``args`` with a bare ``option`` given its default when the next word is no number:
    ``run --wait specs/x.yaml`` waits 120 s for the calls of specs/x.yaml, where click
    would read the path as the seconds."""
    out = list(args)
    for i, arg in enumerate(out):
        if arg == "--":
            break
        if arg == option and (i + 1 == len(out) or not _is_number(out[i + 1])):
            out[i] = f"{option}={DEFAULT_WAIT:g}"
    return out


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


class _RunCommand(click.Command):
    """``run``'s command: ``--wait`` takes the next word only when it is a number."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, seconds_or_default(args))


@cli.command(cls=_RunCommand)
@plan_options
@report_file_options
@click.option("--dry-run", is_flag=True, help="Do everything but send.")
@click.option(
    "--sandbox",
    "use_sandbox",
    is_flag=True,
    help="Start the embedded sandbox on 127.0.0.1 and send there.",
)
@simulate_options
@click.option("--seed", type=int, help="With --simulate: seed for the --answer draws.")
@click.option(
    "--api-url", metavar="URL", help="Base URL instead of the profile's or https://api.plivo.com."
)
@click.option(
    "--service",
    metavar="URL",
    help="The answer service (callspec serve) for calls with message:, as Plivo reaches it "
    "(default: the profile's service:; --sandbox starts one).",
)
@click.option(
    "--rate",
    type=FiniteFloat(0.001, 1_000_000),
    help="Calls per second over the whole run, 0.001 to 1e6 (default: the profile's, else 2).",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    default=4,
    show_default=True,
    help="Requests in flight at once.",
)
@click.option(
    "--timeout",
    type=FiniteFloat(0, 3600, min_open=True),
    default=10.0,
    show_default=True,
    help="Read timeout in seconds, at most 3600 (connect: at most 5 s).",
)
@click.option(
    "--retries",
    type=click.IntRange(0, 10),
    default=3,
    show_default=True,
    help="Retries of attempts that surely placed no call (refused, 429, 503).",
)
@click.option(
    "--max-calls",
    type=click.IntRange(min=1),
    help="Refuse a run that would place more calls (default: the profile's).",
)
@click.option(
    "--journal",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Journal path (default: beside the report).",
)
@click.option(
    "--resume",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Skip calls this journal shows fired or queued; append to it.",
)
@click.option(
    "--retry-unknown",
    is_flag=True,
    help="With --resume: send again calls whose outcome is unknown.",
)
@click.option(
    "--resume-anyway",
    is_flag=True,
    help="With --resume: trust a journal that matches no call of this run, records no "
    "target, or was written against another target.",
)
@click.option(
    "--bail",
    type=click.IntRange(min=0),
    default=defaults.BAIL,
    show_default=True,
    help="Stop sending after N calls in a row get no certain answer (0: never).",
)
@click.option(
    "--max-retry-wait",
    type=FiniteFloat(0, 86_400),
    default=defaults.MAX_RETRY_WAIT,
    show_default=True,
    metavar="SECONDS",
    help="Retry waiting the whole run may spend; calls still waiting then fail, not sent.",
)
@click.option(
    "--check",
    "check_first",
    is_flag=True,
    help="First request each answer_url/fallback_url as Plivo would (see callspec check); "
    "place nothing when a check fails (exit 3).",
)
@check_options
@click.option(
    "--wait",
    type=FiniteFloat(0, 86_400, min_open=True),
    is_flag=False,
    flag_value=DEFAULT_WAIT,
    metavar="[SECONDS]",
    help="Follow each placed call until it ends, at most SECONDS (default "
    f"{DEFAULT_WAIT:g}); exit 1 when one was not answered.",
)
@click.option(
    "--wait-ok",
    type=click.Choice(["no-answer"]),
    multiple=True,
    help="With --wait: a call (or escalation) nobody answered does not fail the run.",
)
@click.option(
    "--poll-interval",
    type=FiniteFloat(0.01, 60),
    default=defaults.POLL_INTERVAL,
    show_default=True,
    metavar="SECONDS",
    help="With --wait or escalate: seconds between two reads of one call's state.",
)
@click.option(
    "--read-rate",
    type=FiniteFloat(0.01, 1000),
    default=defaults.READ_RATE,
    show_default=True,
    metavar="PER_SECOND",
    help="With --wait or escalate: reads of call state per second over the run (apart "
    "from --rate).",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Force the progress bar on or off (default: a bar on a terminal).",
)
@quiet_option
@handled
def run(
    paths: tuple[Path, ...],
    plan: PlanOptions,
    files: tuple[tuple[str, Path], ...],
    dry_run: bool,
    use_sandbox: bool,
    simulate: bool,
    simulate_duration: float,
    answer_shares: tuple[Share, ...],
    answer_by: tuple[tuple[str, Outcome], ...],
    seed: int | None,
    api_url: str | None,
    service: str | None,
    rate: float | None,
    concurrency: int,
    timeout: float,
    retries: int,
    max_calls: int | None,
    journal: Path | None,
    resume: Path | None,
    retry_unknown: bool,
    resume_anyway: bool,
    bail: int,
    max_retry_wait: float,
    check_first: bool,
    check_callbacks: bool,
    check_timeout: float,
    check_deadline: float,
    wait: float | None,
    wait_ok: tuple[str, ...],
    poll_interval: float,
    read_rate: float,
    progress: bool | None,
    quiet: bool,
) -> int:
    """Validate the whole run, then place the calls and write a report.

    Exit 0 when every call fired or was queued, 1 when any failed or its outcome
    is unknown (or, with --wait, was not answered), 3 when any spec is invalid or a
    --check fails (nothing sent), 4 when refused by a guard (nothing sent), 130 when
    interrupted.

    \b
    Examples:
      callspec run specs/ --sandbox
      callspec run specs/oncall.yaml --tag sev1 --report out/report.json
      callspec run specs/ --resume out/report.journal.jsonl
      callspec run specs/ --sandbox --simulate --answer-by +14155550100=busy
      callspec run specs/page.yaml --wait 90
    """
    from callspec.cli.progress import bar_factory
    from callspec.delivery.options import RunOptions

    # the send stage loads only for run (requests itself once the plan is built)
    from callspec.delivery.request import Timeouts
    from callspec.delivery.wait import WaitOptions
    from callspec.execute import Outputs, RunRequest, execute

    for flag, given in (("--retry-unknown", retry_unknown), ("--resume-anyway", resume_anyway)):
        if given and not resume:
            raise click.UsageError(f"{flag} goes with --resume")
    if wait_ok and wait is None:
        raise click.UsageError("--wait-ok goes with --wait")
    if dry_run and use_sandbox:
        raise click.UsageError("--dry-run and --sandbox do not go together")
    if plan.at is not None and resume is not None:
        raise click.UsageError(
            "--at does not go with --resume: a resumed run resolves rotations at the "
            "instant its journal records"
        )
    if plan.at is not None and not (dry_run or use_sandbox):
        raise click.UsageError(
            "--at goes with --dry-run or --sandbox: a live run pages who is on call now"
        )
    if not dry_run:  # a sending run needs people on call now; validate warns of gaps ahead
        # ... and pages whoever a calendar URL has on call: it fetches it.
        plan = replace(plan, gap_check=False, fetch_calendars=True)
    if simulate and not use_sandbox:
        raise click.UsageError("--simulate goes with --sandbox")
    if seed is not None and not simulate:
        raise click.UsageError("--seed goes with --simulate")
    simulated = simulation(simulate, simulate_duration, answer_shares, answer_by, seed)
    # (--api-url and --service are checked once the profiles are loaded: execute.py)
    # How placed calls are followed: --wait's, and escalation steps' (whose default wait is
    # the same when --wait is not given).
    follow = WaitOptions(
        wait or DEFAULT_WAIT, poll_interval, read_rate, no_answer_ok="no-answer" in wait_ok
    )
    options = RunOptions(
        mode="dry-run" if dry_run else "live",
        api_url=api_url,
        rate=rate,
        concurrency=concurrency,
        timeouts=Timeouts(connect=min(5.0, timeout), read=timeout),
        retries=retries,
        max_calls=max_calls,
        journal=journal,
        resume=resume,
        retry_unknown=retry_unknown,
        resume_anyway=resume_anyway,
        bail=bail,
        max_retry_wait=max_retry_wait,
        wait=follow if wait is not None else None,
        follow=follow,
        service=service,
    )
    report = dict(files).pop("json", None)
    others = tuple((kind, path) for kind, path in files if kind != "json")
    outputs = Outputs(report=report, files=others, progress=progress, quiet=quiet)
    checks = None
    if check_first or check_callbacks:
        from callspec.check.checker import CheckOptions

        checks = CheckOptions(
            callbacks=check_callbacks, timeout=check_timeout, deadline=check_deadline
        )
    request = RunRequest(
        paths, plan, options, outputs, sandbox=use_sandbox, simulate=simulated, check=checks
    )
    bar = None if quiet else bar_factory(sys.stderr, progress)
    stop = threading.Event()
    restore = install_stop_handlers(stop, sys.stderr)
    try:
        result, _ = execute(request, dict(os.environ), sys.stdout, sys.stderr, stop, bar)
    finally:
        restore()
    return result.exit_code()
