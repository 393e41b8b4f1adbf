"""Resuming an escalation chain after its spec or roster was edited: never two pages at once,
never a chain started again, never a phone rung twice for being spelled another way.

Against the Plivo fake (tests/plivo_fake.py).  A "killed" first run is one stopped
(as Ctrl-C does) while it follows its first step: its journal then holds that step
placed, and nothing of how it ended, as after a SIGKILL.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from plivo_fake import ANSWER, NOANSWER, Lifecycle, PlivoFake, Script, answers, plivo_fake
from support import AUTH_ID, TOKEN, cred_env, invoke, read_report

from callspec.delivery.credentials import Credentials
from callspec.delivery.runner import RunOptions, run_plan
from callspec.delivery.wait import WaitOptions
from callspec.errors import ExitCode
from callspec.spec.model import PlanOptions
from callspec.spec.plan import build_plan

A, B, C, D = "+14155550101", "+14155550102", "+14155550103", "+14155550104"
JOURNALS = Path(__file__).parent / "journals"


def roster(folder: Path, rows: list[tuple[str, str]], head: str = "") -> Path:
    """page.yaml (``head`` above its first line) escalating through oncall.csv's rows."""
    (folder / ".git").mkdir(exist_ok=True)  # identities relative to this folder
    (folder / "oncall.csv").write_text(
        "name,phone\n" + "".join(f"{name},{phone}\n" for name, phone in rows)
    )
    path = folder / "page.yaml"
    path.write_text(
        head + "version: 1\n"
        "calls:\n"
        '  - name: "page-{{ row.name }}"\n'
        "    each: oncall.csv\n"
        '    to: "{{ row.phone }}"\n'
        '    from: "+14155550100"\n'
        "    answer_url: https://example.com/answer.xml\n"
        "    escalate: {answer_within: 5}\n"
    )
    return path


def run(spec: Path, url: str, *extra: object) -> Any:
    """``callspec run spec`` against the fake, reading fast; the report beside the spec."""
    args = ["run", spec, "--api-url", url, "--rate", "200", "--poll-interval", "0.01"]
    args += ["--read-rate", "500", "--retries", "0", "--no-progress"]
    args += ["--report", spec.parent / "report.json", *extra]
    return invoke([str(a) for a in args], cred_env())


def killed_while_ringing(spec: Path, fake: PlivoFake, journal: Path, first: str) -> None:
    """A first run of ``spec`` stopped while it follows its first step (to ``first``)."""
    stop = threading.Event()
    plan = build_plan([spec], PlanOptions(cwd=spec.parent), {})
    options = RunOptions(
        api_url=fake.url,
        credentials=Credentials(AUTH_ID, TOKEN),
        rate=200,
        retries=0,
        journal=journal,
        follow=WaitOptions(120, interval=30, read_rate=500),
    )
    thread = threading.Thread(target=run_plan, args=(plan, options, {}, None, None, stop))
    thread.start()
    try:
        fake.wait_for(lambda log: f"GET {first} live" in log)
    finally:
        stop.set()
        thread.join(20)
    assert fake.posts() == [first]


def test_a_reordered_roster_reads_the_live_step_back_before_paging_anyone(
    tmp_path: Path,
) -> None:
    spec = roster(tmp_path, [("alice", A), ("bob", B), ("carol", C)])
    journal = tmp_path / "run.journal.jsonl"
    with plivo_fake({A: Script(["ringing"]), B: answers(), C: answers()}) as fake:
        killed_while_ringing(spec, fake, journal, A)
        fake.stories[A] = Script(["in-progress", "ended"], fields=ANSWER)  # alice picked up
        roster(tmp_path, [("bob", B), ("alice", A), ("carol", C)])
        result = run(spec, fake.url, "--resume", journal)
    assert fake.posts() == [A]  # alice answered: bob, first in the roster now, is not paged
    assert result.exit_code == ExitCode.OK, result.output
    names = {c["name"]: c for c in read_report(tmp_path / "report.json")["calls"]}
    assert names["page-alice"]["answers"][0]["answered"] is True
    assert names["page-bob"]["reason"].startswith("escalation stopped: answered by 'page-alice'")


def test_a_row_inserted_before_the_live_step_waits_until_that_step_ended(tmp_path: Path) -> None:
    spec = roster(tmp_path, [("alice", A), ("bob", B), ("carol", C)])
    journal = tmp_path / "run.journal.jsonl"
    with plivo_fake({A: Script(["ringing"]), B: answers(), C: answers(), D: answers()}) as fake:
        killed_while_ringing(spec, fake, journal, A)
        fake.stories[A] = Script(["ended"], fields=NOANSWER)  # alice did not pick up
        roster(tmp_path, [("dave", D), ("alice", A), ("bob", B), ("carol", C)])
        result = run(spec, fake.url, "--resume", journal)
        log = list(fake.log)
    assert fake.posts() == [A, D], result.output
    assert log.index(f"GET {A} record") < log.index(f"POST {D}")  # alice surely ended first


def test_a_comment_and_a_removed_row_do_not_start_an_answered_chain_again(
    tmp_path: Path,
) -> None:
    spec = roster(tmp_path, [("alice", A), ("bob", B), ("carol", C)])
    journal = tmp_path / "run.journal.jsonl"
    with plivo_fake({A: Lifecycle(["ringing"], NOANSWER), B: answers(), C: answers()}) as fake:
        assert run(spec, fake.url, "--journal", journal).exit_code == ExitCode.OK
        assert fake.posts() == [A, B]
        roster(tmp_path, [("alice", A), ("carol", C)], head="# paged on deploy failures\n")
        again = run(spec, fake.url, "--resume", journal)
        assert fake.posts() == [A, B]  # bob answered: carol is not paged
    assert again.exit_code == ExitCode.OK, again.output
    carol = read_report(tmp_path / "report.json")["calls"][1]
    assert carol["reason"].startswith("escalation stopped: answered by 'page-bob'")


def test_a_renamed_and_respelled_row_is_the_same_phone(tmp_path: Path) -> None:
    spec = roster(tmp_path, [("alice", A), ("bob", B), ("carol", C)])
    journal = tmp_path / "run.journal.jsonl"
    with plivo_fake({A: Script(["ringing"]), B: answers(), C: answers()}) as fake:
        killed_while_ringing(spec, fake, journal, A)
        fake.stories[A] = Script(["ended"], fields=NOANSWER)
        roster(tmp_path, [("Alice", A.removeprefix("+")), ("bob", B), ("carol", C)])
        # Only bob and carol may still be placed: 2 calls fit --max-calls 2.
        result = run(spec, fake.url, "--resume", journal, "--max-calls", "2")
    assert fake.posts() == [A, B], result.output  # alice's phone is not rung again
    alice = read_report(tmp_path / "report.json")["calls"][0]
    assert (alice["outcome"], alice["answers"][0]["answered"]) == ("skipped", False)


def test_one_404_after_a_call_was_seen_live_is_no_reason_to_hang_up(tmp_path: Path) -> None:
    spec = roster(tmp_path, [("alice", A), ("bob", B)])
    alice = Script(["ringing", 404, "in-progress", "ended"], fields=ANSWER)
    with plivo_fake({A: alice, B: answers()}) as fake:
        result = run(spec, fake.url)
    assert alice.deletes == 0  # alice answered after the blip: never hung up on
    assert fake.posts() == [A]
    assert result.exit_code == ExitCode.OK, result.output


def test_a_request_uuid_seen_before_makes_the_step_unknown_and_stops_the_chain(
    tmp_path: Path,
) -> None:
    spec = roster(tmp_path, [("alice", A), ("bob", B), ("carol", C)])
    with plivo_fake({A: Lifecycle(["ringing"], NOANSWER), B: answers(), C: answers()}) as fake:

        def again(to: str, n: int) -> Any:
            if to != B:
                return None
            alices = next(leg.uuid for leg in fake.legs.values() if leg.to == A)
            return 201, {"api_id": "a", "message": "call fired", "request_uuid": alices}

        fake.post = again
        result = run(spec, fake.url)
    assert fake.posts() == [A, B]  # bob may be ringing: carol is not paged with him
    assert result.exit_code == ExitCode.CALL_FAILED
    bob = read_report(tmp_path / "report.json")["calls"][1]
    assert bob["outcome"] == "unknown"
    assert "already" in bob["error"] and "request_uuid" in bob["error"]


@pytest.mark.parametrize("field", ["call_uuid", "to_number"])
def test_a_detail_record_of_another_call_stops_the_chain(tmp_path: Path, field: str) -> None:
    spec = roster(tmp_path, [("alice", A), ("bob", B)])
    other = {"call_uuid": "6a1d2f3e-0000-4000-8000-000000000001", "to_number": "14155550199"}
    story = Script(["ringing", "ended"], fields={**NOANSWER, field: other[field]})
    with plivo_fake({A: story, B: answers()}) as fake:
        result = run(spec, fake.url)
    assert fake.posts() == [A]  # nothing says alice's call ended: bob is not paged
    assert result.exit_code == ExitCode.CALL_FAILED
    alice = read_report(tmp_path / "report.json")["calls"][0]
    assert alice["answers"][0]["answered"] is None


def old_journal(name: str, folder: Path, url: str) -> Path:
    """A journal callspec f05d604 wrote (before chain keys), aimed at the fake at ``url``."""
    journal = folder / "old.journal.jsonl"
    journal.write_text((JOURNALS / name).read_text().replace("{API_URL}", url))
    return journal


def test_an_older_journal_still_ends_an_answered_chain_after_edits(tmp_path: Path) -> None:
    spec = roster(tmp_path, [("alice", A), ("carol", C)], head="# paged on deploy failures\n")
    with plivo_fake({A: answers(), C: answers()}) as fake:
        journal = old_journal("main-roster-answered.jsonl", tmp_path, fake.url)
        result = run(spec, fake.url, "--resume", journal)
        assert fake.log == []  # bob answered in that run: nothing sent, nothing read
    assert result.exit_code == ExitCode.OK, result.output
    carol = read_report(tmp_path / "report.json")["calls"][1]
    assert carol["reason"].startswith("escalation stopped: answered by 'page-bob'")


def test_an_older_journal_of_a_killed_chain_reads_the_live_step_back_first(
    tmp_path: Path,
) -> None:
    spec = roster(tmp_path, [("bob", B), ("alice", A), ("carol", C)])
    with plivo_fake({A: Script(["in-progress", "ended"], fields=ANSWER), B: answers()}) as fake:
        journal = old_journal("main-roster-killed-while-ringing.jsonl", tmp_path, fake.url)
        fake.place(A, "ff4293b5-f390-4b82-ab7f-75fe4d5a997f")  # as that run placed it
        result = run(spec, fake.url, "--resume", journal)
    assert fake.posts() == []  # alice answered: bob is not paged
    assert result.exit_code == ExitCode.OK, result.output
    alice = read_report(tmp_path / "report.json")["calls"][1]
    assert (alice["name"], alice["answers"][0]["answered"]) == ("page-alice", True)


def test_a_removed_row_whose_call_may_still_ring_is_settled_before_anyone_is_paged(
    tmp_path: Path,
) -> None:
    spec = roster(tmp_path, [("alice", A), ("bob", B), ("carol", C)])
    journal = tmp_path / "run.journal.jsonl"
    with plivo_fake({A: Script(["ringing"]), B: answers(), C: answers()}) as fake:
        killed_while_ringing(spec, fake, journal, A)
        fake.stories[A] = Script(["ended"], fields=NOANSWER)  # alice did not pick up
        roster(tmp_path, [("bob", B), ("carol", C)])  # and her row is gone since
        result = run(spec, fake.url, "--resume", journal)
        log = list(fake.log)
        # Its fate is journaled: resumed again, alice is not read again, bob's answer ends it.
        again = run(spec, fake.url, "--resume", journal)
        assert fake.log == log
    assert fake.posts() == [A, B], result.output
    assert log.index(f"GET {A} record") < log.index(f"POST {B}")
    assert "'page-alice' (placed by an earlier run, no longer in the roster)" in result.stderr
    assert again.exit_code == ExitCode.OK, again.output
