"""The journal records who a rotation had on call and when; ``--resume`` after a hand-off
pages the chain that was started, not the next shift's people."""

from __future__ import annotations

import io
import json
from pathlib import Path

from oncall_team import ANA, BEN
from support import invoke, read_report

from callspec.delivery.runner import RunOptions
from callspec.errors import ExitCode
from callspec.execute import Outputs, RunRequest, execute
from callspec.oncall.times import parse_instant
from callspec.spec.model import PlanOptions

BEFORE = "2026-12-10T20:00:00Z"  # ana primary, ben secondary
AFTER = "2026-12-14T15:00:00Z"  # after the hand-off: ben primary, cleo secondary


def test_resume_after_a_hand_off_finishes_the_started_chain(team: Path):
    journal = team / "page.journal.jsonl"
    first = invoke(
        ["run", str(team / "page.yaml"), "--sandbox", "--at", BEFORE, "--only", "primary-ana",
         "--journal", str(journal), "--report", str(team / "first.json"), "--no-progress"]
    )  # fmt: skip
    assert first.exit_code == ExitCode.OK, first.stderr
    started = json.loads(journal.read_text().splitlines()[0])
    assert started["on_call"] == {"at": BEFORE, "name": "ana", "layer": "primary"}

    # Resumed after the hand-off (the clock says so): ana was paged, ben is next; cleo,
    # on call now, is not part of the chain that was started.
    err = io.StringIO()
    request = RunRequest(
        (team / "page.yaml",),
        PlanOptions(clock=lambda: parse_instant(AFTER)),
        RunOptions(resume=journal, journal=journal),
        Outputs(report=team / "second.json", progress=False),
        sandbox=True,
    )
    result, report_path = execute(request, {}, io.StringIO(), err)
    assert result.exit_code() == ExitCode.OK
    report = read_report(report_path)
    assert [(c["name"], c["outcome"]) for c in report["calls"]] == [
        ("primary-ana", "skipped"),
        ("secondary-ben", "fired"),
    ]
    assert report["calls"][0]["reason"].startswith("already fired in run")
    assert [c["body"]["to"] for c in report["calls"]] == [ANA, BEN]
    assert f"callspec: resuming: rotations resolved at {BEFORE}, as the journal's run did" in (
        err.getvalue()
    )


def test_at_does_not_go_with_resume(team: Path):
    (team / "j.jsonl").write_text("")
    args = ["run", str(team / "page.yaml"), "--sandbox", "--at", BEFORE]
    result = invoke([*args, "--resume", str(team / "j.jsonl")])
    assert result.exit_code == ExitCode.USAGE
    assert "--at does not go with --resume" in result.stderr
