"""``callspec sandbox``: serve the local Plivo-compatible API until Ctrl-C."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from callspec.cli.app import cli
from callspec.cli.common import FiniteFloat, handled, parsed
from callspec.errors import UsageError
from callspec.sandbox import DEFAULT_AUTH_ID, DEFAULT_AUTH_TOKEN

if TYPE_CHECKING:
    from callspec.sandbox.faults import Fault
    from callspec.sandbox.outcomes import Outcome, Share, SimulationConfig

F = TypeVar("F", bound=Callable[..., Any])


# The option parsers load the sandbox's modules only when their option is given: ``run``
# shares --simulate's options, and most runs use none of them.
def _parse_share(value: str) -> Share:
    from callspec.sandbox.outcomes import parse_share

    return parse_share(value)


def _parse_answer_by(value: str) -> tuple[str, Outcome]:
    from callspec.sandbox.outcomes import parse_answer_by

    return parse_answer_by(value)


def _parse_latency(value: str) -> tuple[float, float]:
    from callspec.sandbox.faults import parse_latency

    return parse_latency(value)


def _parse_fault(value: str) -> Fault:
    from callspec.sandbox.faults import parse_fault

    return parse_fault(value)


def simulate_options(command: F) -> F:
    """``--simulate`` and its settings, for ``sandbox`` and ``run --sandbox``."""
    options = [
        click.option(
            "--simulate",
            is_flag=True,
            help="Play each placed call as Plivo would: ring_url, answer_url (fallback_url), "
            "the Plivo XML checked, <Redirect>, <GetDigits>, hangup_url; serve the call-state "
            "endpoints and lists.",
        ),
        click.option(
            "--simulate-duration",
            type=FiniteFloat(0, 86_400),
            default=1.0,
            show_default=True,
            metavar="SECONDS",
            help="How long an answered simulated call lasts (capped by its time_limit).",
        ),
        click.option(
            "--answer",
            "answer_shares",
            multiple=True,
            callback=parsed(_parse_share),
            metavar="OUTCOME[:FRACTION]",
            help="With --simulate: that fraction of calls ends so (human, ack: presses the "
            "acknowledging key at <GetDigits>, wrong-key: presses another, machine, busy, "
            "no-answer, rejected; repeatable); the rest are answered by a human.",
        ),
        click.option(
            "--answer-by",
            multiple=True,
            callback=parsed(_parse_answer_by),
            metavar="DEST=OUTCOME",
            help="With --simulate: how calls to DEST end (repeatable), e.g. "
            "+14155550100=no-answer.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def simulation(
    simulate: bool,
    duration: float,
    shares: tuple[Share, ...],
    answer_by: tuple[tuple[str, Outcome], ...],
    seed: int | None,
) -> SimulationConfig | None:
    """The simulation the options ask for (None without --simulate); usage errors for the rest."""
    if not simulate:
        for flag, given in (("--answer", shares), ("--answer-by", answer_by)):
            if given:
                raise click.UsageError(f"{flag} goes with --simulate")
        if duration != 1.0:
            raise click.UsageError("--simulate-duration goes with --simulate")
        return None
    from callspec.sandbox.outcomes import SimulationConfig

    try:
        return SimulationConfig(
            duration_s=duration,
            shares=shares,
            answer_by=answer_by,
            seed=seed,
            environ=dict(os.environ),  # the callbacks' proxy and CA settings
        )
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--answer") from e


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8555,
    show_default=True,
    help="Port (0: any free port).",
)
@click.option("--auth-id", default=DEFAULT_AUTH_ID, show_default=True, help="Accepted auth ID.")
@click.option(
    "--auth-token",
    default=DEFAULT_AUTH_TOKEN,
    help="Accepted auth token (default: the sandbox's own, see docs/sandbox.md).",
)
@click.option(
    "--record",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Append one JSON line per call treated as placed (and per injected 4xx or 503).",
)
@click.option(
    "--cps",
    type=click.IntRange(min=1),
    help="Calls beyond N in the current second are answered 200 'call queued'.",
)
@click.option(
    "--latency",
    callback=parsed(_parse_latency),
    metavar="MS|MIN-MAX",
    help="Delay every answer by MS (or a random MIN-MAX) milliseconds.",
)
@click.option(
    "--fail",
    "faults",
    multiple=True,
    callback=parsed(_parse_fault),
    metavar="STATUS:FRACTION",
    help="Answer FRACTION of valid calls with STATUS, e.g. 500:0.1 (repeatable).",
)
@click.option(
    "--retry-after", type=FiniteFloat(0, 3600), help="Retry-After seconds on injected 429/503."
)
@click.option(
    "--drop",
    type=FiniteFloat(0, 1),
    default=0.0,
    help="Fraction of calls placed, then the connection closed without an answer.",
)
@click.option(
    "--hang",
    type=FiniteFloat(0, 1),
    default=0.0,
    help="Fraction of calls placed, then never answered.",
)
@click.option("--seed", type=int, help="Seed for fault and --answer choices (deterministic runs).")
@click.option(
    "--ack-digit",
    type=click.Choice(list("0123456789*")),
    metavar="KEY",
    default="1",
    show_default=True,
    help="With --simulate: the key an 'ack' callee presses (0-9 or *).",
)
@simulate_options
@handled
def sandbox(
    host: str,
    port: int,
    auth_id: str,
    auth_token: str,
    record: Path | None,
    cps: int | None,
    latency: tuple[float, float] | None,
    faults: tuple[Fault, ...],
    retry_after: float | None,
    drop: float,
    hang: float,
    seed: int | None,
    ack_digit: str,
    simulate: bool,
    simulate_duration: float,
    answer_shares: tuple[Share, ...],
    answer_by: tuple[tuple[str, Outcome], ...],
) -> None:
    """Serve a local Plivo-compatible Make-a-call API, for trials and CI.

    It checks basic auth and every argument with the same schema as callspec,
    answers as Plivo does (201 call fired, 200 call queued over --cps, 400/401
    with Plivo's error shape), and can inject faults. With --simulate it also
    plays each call against your handlers (ring, answer, hangup callbacks) and
    serves the call's state. Ctrl-C stops it.

    \b
    Examples:
      callspec sandbox --port 8555 --cps 2 --fail 503:0.1 --seed 7
      callspec sandbox --simulate --answer busy:0.2 --answer-by +14155550100=no-answer
      callspec sandbox --simulate --answer-by +14155550102=ack --ack-digit 4

    \b
    Then, in another terminal, send to it with its own credentials:
      export PLIVO_AUTH_ID=MASANDBOX00000000000
      export PLIVO_AUTH_TOKEN=sandbox-token-not-a-secret-000000000000
      export PAGER_PIN=4321   # the example specs' secret: a live send needs it
      callspec run specs/ --api-url http://127.0.0.1:8555
    """
    from callspec.sandbox.server import Sandbox, SandboxConfig  # loaded only for the sandbox

    config = SandboxConfig(
        host=host,
        port=port,
        auth_id=auth_id,
        auth_token=auth_token,
        record=record,
        cps=cps,
        latency_ms=latency or (0.0, 0.0),
        faults=faults,
        retry_after=retry_after,
        drop=drop,
        hang=hang,
        seed=seed,
        log=sys.stderr,
        simulate=simulation(simulate, simulate_duration, answer_shares, answer_by, seed),
    )
    if config.simulate is not None and ack_digit != config.simulate.ack_digit:
        config = replace(config, simulate=replace(config.simulate, ack_digit=ack_digit))
    try:
        box = Sandbox(config)
    except OSError as e:
        raise UsageError(f"cannot listen on {host}:{port}: {e.strerror or e}") from e
    playing = ", simulating calls" if config.simulate else ""
    click.echo(
        f"callspec sandbox: listening on {box.url} (auth ID {config.auth_id}){playing}; "
        "Ctrl-C stops"
    )
    try:
        box.serve_forever()
    except KeyboardInterrupt:
        click.echo("callspec sandbox: stopped", err=True)
    finally:
        box.stop()
