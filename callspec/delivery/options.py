"""How a run is asked to go (:class:`RunOptions`, filled by the CLI) and those options as
a run's report shows them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from callspec import defaults
from callspec.delivery.credentials import Credentials
from callspec.delivery.request import Timeouts
from callspec.delivery.wait import WaitOptions
from callspec.results import Mode

DEFAULT_BAIL = defaults.BAIL
DEFAULT_MAX_RETRY_WAIT = defaults.MAX_RETRY_WAIT
DEFAULT_FOLLOW = defaults.FOLLOW  # seconds an escalation step is followed, without --wait


@dataclass(frozen=True)
class RunOptions:
    """How to run a plan; the CLI fills it from its options."""

    mode: Mode = "live"
    api_url: str | None = None
    credentials: Credentials | None = None  # given (sandbox), else from profiles/env
    rate: float | None = None
    concurrency: int = 4
    timeouts: Timeouts = field(default_factory=Timeouts)
    retries: int = 3
    backoff: float = 0.5
    backoff_cap: float = 20.0
    max_calls: int | None = None
    journal: Path | None = None
    resume: Path | None = None
    retry_unknown: bool = False
    resume_anyway: bool = False
    #: Stop after this many consecutive calls with no certain answer (0: never).
    bail: int = DEFAULT_BAIL
    #: Seconds of retry waiting the whole run may spend (every call's waits added up).
    max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT
    #: ``--wait``: follow each placed call until it ends or the wait runs out.
    wait: WaitOptions | None = None
    #: How escalation steps are followed when ``--wait`` does not say (poll interval, read
    #: rate, how long at most).
    follow: WaitOptions = field(default_factory=lambda: WaitOptions(DEFAULT_FOLLOW))
    #: ``--service``: the answer service of the calls with ``message:`` (else each call's
    #: profile's ``service:``).
    service: str | None = None


def shaping_options(
    o: RunOptions, rate: float, max_calls: float | None, resume_matched: int | None
) -> dict[str, object]:
    """The options that shaped a run, as its report shows them (``rate`` and ``max_calls``
    as the run used them: given, else its profiles')."""
    # Only a run that follows its calls names how (the reports of others stay as they were).
    waiting: dict[str, object] = {}
    if o.wait is not None:
        waiting = {"wait": o.wait.seconds, "wait_ok": ["no-answer"] * o.wait.no_answer_ok}
    return {
        **waiting,
        "rate": rate,
        "concurrency": o.concurrency,
        "connect_timeout": o.timeouts.connect,
        "read_timeout": o.timeouts.read,
        "retries": o.retries,
        "max_calls": max_calls,
        "journal": str(o.journal) if o.journal else None,
        "resume": str(o.resume) if o.resume else None,
        "retry_unknown": o.retry_unknown,
        "resume_anyway": o.resume_anyway,
        "resume_matched": resume_matched,
        "bail": o.bail,
        "max_retry_wait": o.max_retry_wait,
    }
