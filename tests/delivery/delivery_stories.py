"""The delivery tests' stories for the Plivo fake (tests/plivo_fake.py), one per destination,
and a run that follows its calls against it.  (A module of its own, not the conftest: two
folders' conftest modules would clash as ``conftest`` when a test imports one.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from plivo_fake import (
    ANSWER,
    NOANSWER,
    Leg,
    Lifecycle,
    Reply,
    Story,
    rings_forever,
)
from support import cred_env, invoke, read_report

# Each destination's story (see plivo_fake): the live states it goes through, then its
# detail record.
MACHINE = {
    **ANSWER,
    "call_duration": 4,
    "hangup_cause_name": "Machine Detected",
    "hangup_cause_code": 3050,
    "answer_time": "2026-11-27 02:00:03+00:00",
}
HUNG_UP_BY_CALLEE = {
    **ANSWER,
    "call_duration": 12,
    "hangup_cause_name": "Normal Hangup",
    "hangup_cause_code": 4000,
    "hangup_source": "Callee",
    "answer_time": "2026-11-27 02:00:04+00:00",
}
BUSY = {**NOANSWER, "call_state": "BUSY", "hangup_cause_name": "Busy Line"}
REFUSED = "+14155550005"
FLAKY = "+14155550006"


def refused(method: str, leg: Leg, status: str | None) -> Reply:
    """Every read is refused (401)."""
    return 401, {"error": "authentication failed"}


class Flaky(Lifecycle):
    """Its first two reads fail with 500, then it rings and is answered."""

    def __call__(self, method: str, leg: Leg, status: str | None) -> Reply:
        self.failed = getattr(self, "failed", 0) + 1
        if self.failed <= 2:
            return 500, {"error": "internal error"}
        return super().__call__(method, leg, status)


def stories() -> dict[str, Story]:
    """Each destination's story, new for each test."""
    return {
        "+14155550001": Lifecycle(["queued", "ringing", "in-progress"], ANSWER),
        "+14155550002": Lifecycle(["ringing", "ringing"], NOANSWER),
        "+14155550003": Lifecycle(["ringing", "in-progress"], MACHINE),
        "+14155550004": rings_forever(),
        REFUSED: refused,
        FLAKY: Flaky(["ringing", "in-progress"], HUNG_UP_BY_CALLEE),
        "+14155550007": Lifecycle(["ringing"], BUSY),
        "+14155550008": Lifecycle(["ringing", "ringing"], NOANSWER),  # nobody answers either
    }


def run_followed(spec: Path, url: str, *extra: str) -> tuple[Any, dict[str, Any], str]:
    """``callspec run SPEC`` against the stand-in at ``url``, reading call states fast
    (--poll-interval 0.01, --read-rate 500): the result, the report and the JUnit file."""
    report, junit = spec.parent / "report.json", spec.parent / "junit.xml"
    args = [
        "run",
        spec,
        "--api-url",
        url,
        "--rate",
        "200",
        "--report",
        report,
        "--junit",
        junit,
        "--poll-interval",
        "0.01",
        "--read-rate",
        "500",
        *extra,
    ]
    result = invoke([str(a) for a in args], cred_env())
    return result, read_report(report), junit.read_text()
