"""``run --sandbox --at T`` pages exactly the people on call at T; a person in quiet hours
is reported skipped with the reason (terminal, report, journal) and a chain moves on."""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from oncall_team import ANA, BEN, CLEO
from support import answering, invoke, read_report

from callspec.errors import ExitCode

PAGE_XML = b'<?xml version="1.0"?><Response><Speak>db-1 is down</Speak></Response>'


def _run(team: Path, at: str, *extra: str) -> tuple[Any, dict[str, Any]]:
    report = team / f"report-{at}.json"
    args = ["run", str(team / "page.yaml"), "--sandbox", "--at", at, "--report", str(report)]
    result = invoke([*args, "--no-progress", *extra])
    return result, read_report(report)


def _fired(report: dict[str, Any]) -> list[str]:
    return [c["body"]["to"] for c in report["calls"] if c["outcome"] == "fired"]


@pytest.mark.parametrize(
    ("at", "paged"),
    [
        ("2026-12-10T20:00:00Z", [ANA, BEN]),  # ana primary, ben secondary
        ("2026-12-16T23:00:00Z", [CLEO]),  # cleo covers ben, and is secondary: once
        ("2026-12-18T14:00:00Z", [BEN, CLEO]),  # the override ended
    ],
)
def test_a_sandbox_run_pages_exactly_who_is_on_call_then(team: Path, at: str, paged: list[str]):
    result, report = _run(team, at)
    assert result.exit_code == ExitCode.OK, result.stderr
    assert _fired(report) == paged
    assert report["mode"] == "sandbox"


def test_a_person_in_quiet_hours_is_skipped_with_the_reason(team: Path):
    journal = team / "page.journal.jsonl"
    result, report = _run(team, "2026-12-07T14:00:00Z", "--journal", str(journal))
    assert result.exit_code == ExitCode.OK, result.stderr
    assert _fired(report) == [BEN]
    ana = report["calls"][0]
    reason = (
        "quiet hours: ana is not paged 22:00-07:00 America/Los_Angeles (until 2026-12-07 "
        "07:00 PST) by a call that is not urgent (urgent: true in each:, or a tag of the "
        "rotation's urgent_tags)"
    )
    assert (ana["name"], ana["outcome"], ana["reason"]) == ("primary-ana", "skipped", reason)
    assert reason in result.stderr  # the terminal's line for the call
    lines = [json.loads(line) for line in journal.read_text().splitlines()]
    skipped = [e for e in lines if e.get("event") == "finished" and e["outcome"] == "skipped"]
    assert [(e["name"], e.get("reason")) for e in skipped] == [("primary-ana", reason)]


def test_a_quiet_hours_skip_is_of_the_held_kind_in_the_report_and_the_journal(team: Path):
    journal = team / "page.journal.jsonl"
    result, report = _run(team, "2026-12-07T14:00:00Z", "--journal", str(journal))
    assert result.exit_code == ExitCode.OK, result.stderr
    assert [(c["name"], c["skip_kind"]) for c in report["calls"]] == [
        ("primary-ana", "held"),
        ("secondary-ben", None),
    ]
    lines = [json.loads(line) for line in journal.read_text().splitlines()]
    finished = [e for e in lines if e["event"] == "finished"]
    assert [(e["name"], e.get("skip_kind")) for e in finished] == [
        ("primary-ana", "held"),
        ("secondary-ben", None),
    ]


@pytest.fixture
def hooks() -> Iterator[str]:
    def xml(handler: BaseHTTPRequestHandler, n: int) -> tuple[int, dict[str, str], bytes]:
        return 200, {"Content-Type": "application/xml"}, PAGE_XML

    with answering(xml) as (url, _):
        yield url


def test_an_escalation_moves_past_a_quiet_person_to_the_next(team: Path, hooks: str):
    (team / "page.yaml").write_text(
        (team / "page.yaml")
        .read_text()
        .replace("https://hooks.example.com", hooks)
        .replace("    to:", "    escalate: {answer_within: 30}\n    to:")
    )
    result, report = _run(
        team, "2026-12-07T14:00:00Z", "--simulate", "--simulate-duration", "0.2",
        "--answer-by", f"{BEN}=human", "--poll-interval", "0.05", "--read-rate", "200",
    )  # fmt: skip
    assert result.exit_code == ExitCode.OK, result.stderr
    ana, ben = report["calls"]
    assert (ana["outcome"], ana["reason"].split(":")[0]) == ("skipped", "quiet hours")
    assert ben["outcome"] == "fired"
    assert ben["answers"][0]["answered"] is True
    assert _fired(report) == [BEN]


def test_render_says_which_call_is_held_back(team: Path):
    args = ["render", str(team / "page.yaml"), "--at", "2026-12-07T14:00:00Z"]
    curl = invoke([*args, "-f", "curl"]).stdout.splitlines()
    assert curl[0] == (
        f"# {team}/page.yaml: primary-ana (held back, not sent: quiet hours: ana is not paged "
        "22:00-07:00 America/Los_Angeles (until 2026-12-07 07:00 PST) by a call that is not "
        "urgent (urgent: true in each:, or a tag of the rotation's urgent_tags))"
    )
    items = json.loads(invoke([*args, "-f", "json"]).stdout)
    assert [item.get("held", "").split(":")[0] for item in items] == ["quiet hours", ""]
