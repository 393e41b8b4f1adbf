"""``run --sandbox``: the sandbox a run starts in its own process and sends to.

It accepts the user's credentials when they resolve (else its own), plays each call
with ``--simulate`` (its step lines through the text rule, none with ``--quiet``),
and lasts until every simulated call has ended or the run is stopped.  The server
loads only here, only for ``--sandbox``.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, TextIO, cast

from callspec.delivery.credentials import Credentials, credentials_for
from callspec.errors import GuardError
from callspec.redact import Redactor
from callspec.report.base import OutsideLines, shown
from callspec.sandbox import DEFAULT_AUTH_ID, DEFAULT_AUTH_TOKEN

if TYPE_CHECKING:
    from callspec.delivery.options import RunOptions
    from callspec.sandbox.outcomes import SimulationConfig
    from callspec.spec.plan import Plan


def sandbox_credentials(plan: Plan, environ: Mapping[str, str]) -> Credentials:
    """The user's credentials when they resolve, else the sandbox's own."""
    try:
        return credentials_for(plan.calls[0], environ)
    except GuardError:
        return Credentials(DEFAULT_AUTH_ID, DEFAULT_AUTH_TOKEN)


@contextlib.contextmanager
def embedded(
    plan: Plan,
    options: RunOptions,
    simulate: SimulationConfig | None,
    quiet: bool,
    environ: Mapping[str, str],
    err: TextIO,
    stop: threading.Event | None,
    redactor: Redactor,
) -> Iterator[RunOptions]:
    """The sandbox, started: yields the run's options pointed at it."""
    from callspec.sandbox.server import Sandbox, SandboxConfig

    creds = sandbox_credentials(plan, environ)
    config = SandboxConfig(
        auth_id=creds.auth_id,
        auth_token=creds.auth_token,
        simulate=simulate,
        # --quiet: no step lines (the report keeps every step), only problems and the summary.
        simulate_log=None if quiet else cast(TextIO, OutsideLines(err, redactor)),
    )
    with Sandbox(config) as box, _answer_service(plan, options, creds) as service:
        yield replace(options, mode="sandbox", api_url=box.url, credentials=creds, service=service)
        # --simulate: every call is played to its end (Ctrl-C hangs the rest up).
        while not box.wait_for_calls(0.1):
            if stop is not None and stop.is_set():
                break


@contextlib.contextmanager
def _answer_service(plan: Plan, options: RunOptions, creds: Credentials) -> Iterator[str | None]:
    """The answer service of the plan's ``message:`` calls: ``--service``'s when given, else
    one started in this process for the run (its store a temporary file, removed after),
    which holds the sandbox's auth token, so the simulated calls' signed requests verify."""
    if options.service is not None or not any(c.message is not None for c in plan.calls):
        yield options.service
        return
    import tempfile
    from pathlib import Path

    from callspec.serve.server import ServeConfig, Service

    with tempfile.TemporaryDirectory(prefix="callspec-serve-") as folder:
        store = Path(folder) / "acks.db"
        with Service(ServeConfig(store=store, auth_token=creds.auth_token, port=0)) as service:
            yield service.url


def warn_undialed(simulate: SimulationConfig, plan: Plan, err: TextIO, mask: Redactor) -> None:
    """``--answer-by`` naming a destination no call dials: said, not silently unused."""
    from callspec.sandbox.outcomes import undialed

    dialed: Iterable[str] = (d for c in plan.calls for d in str(c.body.get("to", "")).split("<"))
    for destination, close in undialed(simulate.answer_by, dialed):
        hint = f" (did you mean {close}?)" if close else ""
        warning = (
            f"callspec: warning: --answer-by {destination}: no call dials it; "
            f"its outcome is never played{hint}"
        )
        err.write(shown(warning, mask) + "\n")
