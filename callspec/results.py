"""What a run produced: one result per call, every attempt, and the run around them.

Plain frozen dataclasses shared by the runner (which fills them), the journal
and the reporters (which read them).  Outcomes form a closed set; the summary
and the exit code are derived from the results, never kept beside them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

from callspec.errors import ExitCode, Problem


def now_iso() -> str:
    """The current UTC time, ISO 8601 with milliseconds (every time a run records)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


Outcome = Literal["fired", "queued", "failed", "unknown", "skipped", "invalid"]
OUTCOMES: tuple[Outcome, ...] = ("fired", "queued", "failed", "unknown", "skipped", "invalid")
Mode = Literal["live", "sandbox", "dry-run"]
ErrorKind = Literal["build", "connect", "tls", "timeout", "connection", "internal"]
StopKind = Literal["interrupt", "journal", "bail"]


@dataclass(frozen=True)
class Stopped:
    """Why a run stopped sending before its end: a Ctrl-C, a journal write, the circuit breaker."""

    kind: StopKind
    reason: str
    time: str


@dataclass(frozen=True, slots=True)
class Attempt:
    """One HTTP attempt: what came back, or what went wrong on the wire."""

    started: str
    duration_ms: float
    status: int | None = None
    error: str | None = None
    #: True when the request may have reached the API (so it must not be resent).
    maybe_sent: bool = True
    retry_after: float | None = None
    #: What went wrong, when no HTTP answer came: ``build`` (nothing sent), ``connect``
    #: and ``tls`` (no connection: nothing sent), ``timeout``, ``connection`` (lost
    #: after the request was written) and ``internal`` (may have been sent).
    error_kind: ErrorKind | None = None
    #: For an HTTP answer that is no success: what it said (the API's error, message or
    #: text, and callspec's notes), without the status; outputs put the status before it.
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class CallResult:
    """The fate of one call of the plan."""

    key: str
    spec_file: str
    line: int
    name: str
    tags: tuple[str, ...]
    profile_chain: tuple[str, ...]
    body: Mapping[str, Any]
    outcome: Outcome
    attempts: tuple[Attempt, ...] = ()
    status: int | None = None
    request_uuid: str | list[str] | None = None
    api_id: str | None = None
    message: str | None = None
    error: str | None = None
    #: Why a call was skipped (resume, interrupt), in words.
    reason: str | None = None

    @property
    def duration_ms(self) -> float:
        return sum(a.duration_ms for a in self.attempts)


@dataclass(frozen=True)
class RunResult:
    """A whole run: when, how, and each call's result in plan order."""

    run_id: str
    mode: Mode
    api_url: str
    started: str
    finished: str
    options: Mapping[str, Any]
    calls: tuple[CallResult, ...]
    stopped: Stopped | None = None
    files: tuple[str, ...] = field(default=())
    #: Why the specs were invalid; such a run sent nothing and has no calls.
    problems: tuple[Problem, ...] = ()

    @property
    def interrupted(self) -> bool:
        """True when a Ctrl-C or SIGTERM stopped the run."""
        return self.stopped is not None and self.stopped.kind == "interrupt"

    def summary(self) -> dict[str, int]:
        """Counts per outcome, with the total; ``invalid`` counts the problems found."""
        counts = Counter(c.outcome for c in self.calls)
        summary: dict[str, int] = {"total": len(self.calls)}
        summary.update((o, counts.get(o, 0)) for o in OUTCOMES)
        summary["invalid"] += len(self.problems)
        return summary

    def exit_code(self) -> ExitCode:
        """3 for invalid specs, 130 when interrupted, 1 when a call failed or is unknown, or
        when sending stopped early for any other reason (journal, circuit breaker), else 0."""
        if self.problems:
            return ExitCode.INVALID
        if self.interrupted:
            return ExitCode.INTERRUPTED
        if self.stopped is not None:
            return ExitCode.CALL_FAILED
        if any(c.outcome in ("failed", "unknown", "invalid") for c in self.calls):
            return ExitCode.CALL_FAILED
        return ExitCode.OK
