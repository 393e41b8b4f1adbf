"""The journal records who a rotation had on call and when; ``--resume`` after a hand-off
pages the chain that was started, not the next shift's people."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from oncall_team import ANA, BEN, CLEO, DEV, SPEC
from plivo_fake import (
    ANSWER,
    NOANSWER,
    PlivoFake,
    Script,
    answers,
    killed_while_ringing,
    plivo_fake,
)
from support import AUTH_ID, TOKEN, cred_env, invoke, read_report

from callspec.delivery.credentials import Credentials
from callspec.delivery.options import RunOptions
from callspec.delivery.wait import WaitOptions
from callspec.errors import ExitCode, GuardError
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
    on_call = {k: v for k, v in started["on_call"].items() if k not in ("entry", "people")}
    assert on_call == {"at": BEFORE, "name": "ana", "layer": "primary"}

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


# -- an escalation chain killed mid-way, a hand-off, then --resume ---------------------

CHAIN = SPEC.replace("    to:", "    escalate: {answer_within: 5}\n    to:")
QUIET = "2026-12-10T08:00:00Z"  # midnight in Los Angeles: ana (primary) in quiet hours


def _killed_while_ringing(team: Path, fake: PlivoFake, journal: Path, at: str, first: str) -> None:
    """A first run of the chain at ``at``, stopped (as Ctrl-C does) while it follows its
    step to ``first``: its journal holds that step placed and nothing of how it ended."""
    (team / "page.yaml").write_text(CHAIN)
    (team / ".git").mkdir()  # the chain's identity: relative to this work tree
    killed_while_ringing(
        team / "page.yaml", fake, journal, first, PlanOptions(at=parse_instant(at))
    )


def _resumed_after_the_hand_off(team: Path, fake: PlivoFake, journal: Path) -> dict[str, Any]:
    """``run --resume`` of the chain with the clock a shift later; the report."""
    request = RunRequest(
        (team / "page.yaml",),
        PlanOptions(clock=lambda: parse_instant(AFTER)),
        RunOptions(
            api_url=fake.url,
            credentials=Credentials(AUTH_ID, TOKEN),
            rate=200,
            retries=0,
            resume=journal,
            journal=journal,
            follow=WaitOptions(120, interval=0.01, read_rate=500),
        ),
        Outputs(report=team / "resumed.json", progress=False),
    )
    result, report_path = execute(request, cred_env(), io.StringIO(), io.StringIO())
    assert result.exit_code() == ExitCode.OK
    return read_report(report_path)


def test_a_chain_killed_mid_way_is_finished_after_a_hand_off_with_its_own_people(team: Path):
    journal = team / "page.journal.jsonl"
    with plivo_fake({ANA: Script(["ringing"]), BEN: answers(), CLEO: answers()}) as fake:
        _killed_while_ringing(team, fake, journal, BEFORE, ANA)
        fake.stories[ANA] = Script(["ended"], fields=NOANSWER)  # ana did not pick up
        report = _resumed_after_the_hand_off(team, fake, journal)
        log = list(fake.log)
    # ana's step is read back and settled first, then ben (secondary before the hand-off)
    # is paged; cleo, secondary now, is not part of the chain that was started.
    assert fake.posts() == [ANA, BEN]
    assert log.index(f"GET {ANA} record") < log.index(f"POST {BEN}")
    assert [(c["name"], c["outcome"]) for c in report["calls"]] == [
        ("primary-ana", "skipped"),
        ("secondary-ben", "fired"),
    ]
    assert report["calls"][1]["answers"][0]["answered"] is True
    lines = [json.loads(line) for line in journal.read_text().splitlines()]
    chains = {e["chain"] for e in lines if "chain" in e}
    assert len(chains) == 1  # one chain across both runs
    assert {e["on_call"]["at"] for e in lines if "on_call" in e} == {BEFORE}


def test_a_quiet_hours_hold_stays_held_on_resume_and_is_journaled_as_held(team: Path):
    journal = team / "page.journal.jsonl"
    with plivo_fake({ANA: answers(), BEN: Script(["ringing"]), CLEO: answers()}) as fake:
        _killed_while_ringing(team, fake, journal, QUIET, BEN)  # ana held: ben rang first
        fake.stories[BEN] = Script(["in-progress", "ended"], fields=ANSWER)  # ben picked up
        report = _resumed_after_the_hand_off(team, fake, journal)
    # At the journaled instant ana is still in quiet hours (whatever the clock says now),
    # ben's step is read back (answered): nobody is rung, nobody twice.
    assert fake.posts() == [BEN]
    ana, ben = report["calls"]
    assert (ana["outcome"], ana["skip_kind"]) == ("skipped", "held")
    assert ana["reason"].startswith("quiet hours: ana is not paged")
    assert (ben["outcome"], ben["skip_kind"]) == ("skipped", "resumed")
    assert ben["answers"][0]["answered"] is True
    lines = [json.loads(line) for line in journal.read_text().splitlines()]
    held = [e for e in lines if e["event"] == "finished" and e["name"] == "primary-ana"]
    assert [(e["outcome"], e.get("skip_kind")) for e in held] == [("skipped", "held")] * 2


def test_a_resume_after_the_rotation_was_edited_pages_nobody_else(team: Path):
    from oncall_team import PROFILES

    journal = team / "page.journal.jsonl"
    with plivo_fake({ANA: Script(["ringing"]), BEN: answers(), DEV: answers()}) as fake:
        _killed_while_ringing(team, fake, journal, BEFORE, ANA)
        fake.stories[ANA] = Script(["ended"], fields=NOANSWER)  # ana did not pick up
        # The secondary of the week that was paged is now dev, not ben.
        edited = PROFILES.replace(
            "secondary: [ben, cleo, dev, ana]", "secondary: [dev, cleo, ben, ana]"
        )
        (team / "profiles.yaml").write_text(edited)
        with pytest.raises(GuardError) as refused:
            _resumed_after_the_hand_off(team, fake, journal)
        assert fake.posts() == [ANA]  # nobody else rung: not dev, and not ben
    assert refused.value.exit_code == ExitCode.REFUSED
    assert str(refused.value) == (
        f"{team}/page.yaml:3: who is on call at {BEFORE} is not who the journal's run paged "
        "from: the schedule was edited since, and now has primary ana, secondary dev "
        "(secondary dev is new, 1 of the journal's people not on call now); "
        "--resume only finishes the chain that was started, so it pages nobody else: restore "
        "the rotation (or calendar) as it was to resume, or page the new people with a run "
        "without --resume"
    )


def test_a_resume_refused_after_a_phone_edit_says_whose_number_changed(team: Path):
    from oncall_team import PROFILES

    journal = team / "page.journal.jsonl"
    with plivo_fake({ANA: Script(["ringing"]), BEN: answers()}) as fake:
        _killed_while_ringing(team, fake, journal, BEFORE, ANA)
        edited = PROFILES.replace('ben: {phone: "+14155550102"}', 'ben: {phone: "+14155550109"}')
        (team / "profiles.yaml").write_text(edited)
        with pytest.raises(GuardError) as refused:
            _resumed_after_the_hand_off(team, fake, journal)
        assert fake.posts() == [ANA]
    said = str(refused.value)
    assert "now has primary ana, secondary ben (ben's number changed); --resume" in said
    assert "+14155550109" not in said and BEN not in said
