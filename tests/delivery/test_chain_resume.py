"""Resuming an escalation chain after its spec or roster was edited: never two pages at once,
never a chain started again, never a phone rung twice for being spelled another way.

Against the Plivo fake (tests/plivo_fake.py).  A "killed" first run is one stopped
(as Ctrl-C does) while it follows its first step: its journal then holds that step
placed, and nothing of how it ended, as after a SIGKILL.
"""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from typing import Any

import pytest
from plivo_fake import (
    ANSWER,
    NOANSWER,
    Lifecycle,
    Script,
    answers,
    killed_while_ringing,
    plivo_fake,
)
from support import cred_env, invoke, read_report, spawn

from callspec.errors import ExitCode

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


# -- a resume after an edited roster pages no one else --------------------------------------

EDITS = {
    "row inserted before bob": [("alice", A), ("dave", D), ("bob", B), ("carol", C)],
    "bob's row removed": [("alice", A), ("carol", C)],
}


@pytest.mark.parametrize("edit", EDITS)
def test_resume_after_an_answer_pages_no_one_else(tmp_path: Path, edit: str) -> None:
    spec = roster(tmp_path, [("alice", A), ("bob", B), ("carol", C)])
    journal = tmp_path / "run.journal.jsonl"
    stories = {A: Lifecycle(["ringing"], NOANSWER), B: answers(), C: answers(), D: answers()}
    with plivo_fake(stories) as fake:
        assert run(spec, fake.url, "--journal", journal).exit_code == ExitCode.OK
        assert fake.posts() == [A, B]
        roster(tmp_path, EDITS[edit])
        again = run(spec, fake.url, "--resume", journal)
        assert fake.posts() == [A, B]  # bob answered: the chain is over, nobody else is paged
    assert again.exit_code == ExitCode.OK, again.output


def placed_long_ago(journal: Path) -> None:
    """The journal's steps as if placed long ago: their answer_within is over on resume."""
    lines = [json.loads(line) for line in journal.read_text().splitlines()]
    for line in lines:
        if line["event"] == "started":
            line["time"] = "2000-01-01T00:00:00.000Z"
    journal.write_text("".join(json.dumps(line) + "\n" for line in lines))


def test_resume_does_not_hang_up_on_a_failed_read(tmp_path: Path) -> None:
    spec = roster(tmp_path, [("alice", A), ("bob", B)])
    journal = tmp_path / "run.journal.jsonl"
    with plivo_fake({A: Script(["ringing"]), B: answers()}) as fake:
        killed_while_ringing(spec, fake, journal, A)
        placed_long_ago(journal)
        alice = fake.stories[A] = Script([500, "in-progress", "ended"], fields=ANSWER)
        result = run(spec, fake.url, "--resume", journal)
    assert alice.deletes == 0  # one failed read is no reason to hang up on alice
    assert fake.posts() == [A]
    assert result.exit_code == ExitCode.OK, result.output


def test_resume_rings_no_one_while_the_hangup_failed(tmp_path: Path) -> None:
    spec = roster(tmp_path, [("alice", A), ("bob", B)])
    journal = tmp_path / "run.journal.jsonl"
    with plivo_fake({A: Script(["ringing"], delete=500), B: answers()}) as fake:
        killed_while_ringing(spec, fake, journal, A)
        placed_long_ago(journal)
        result = run(spec, fake.url, "--resume", journal, "--wait", "1")
    assert fake.posts() == [A]  # alice still rings: bob must not be paged at the same time
    assert result.exit_code == ExitCode.CALL_FAILED
    alice = read_report(tmp_path / "report.json")["calls"][0]["answers"][0]
    assert alice["note"].startswith("could not hang up: HTTP 500")
    assert "could not hang up" in result.stdout


def test_a_step_named_like_an_earlier_call_is_refused_on_resume(tmp_path: Path) -> None:
    spec = tmp_path / "chain.yaml"
    alone = (
        "version: 1\ncalls:\n"
        f'  - name: "page[2]"\n    to: "{D}"\n    from: "+14155550100"\n'
        "    answer_url: https://example.com/answer.xml\n"
    )
    spec.write_text(alone)
    journal = tmp_path / "j.jsonl"
    with plivo_fake({A: answers(), B: answers(), D: answers()}) as fake:
        assert run(spec, fake.url, "--journal", journal).exit_code == ExitCode.OK
        spec.write_text(  # the escalation is added: its step page[2] would stand for that call
            alone + "  - name: page\n"
            f"    to: {json.dumps([A, B])}\n"
            '    from: "+14155550100"\n    answer_url: https://example.com/answer.xml\n'
            "    escalate: {answer_within: 5}\n"
        )
        again = run(spec, fake.url, "--resume", journal)
        assert fake.posts() == [D]
    assert again.exit_code == ExitCode.INVALID
    assert "chain.yaml:7:5: duplicate call name 'page[2]'" in again.stderr


def test_a_broken_answered_line_is_a_located_error(tmp_path: Path) -> None:
    spec = roster(tmp_path, [("alice", A), ("bob", B)])
    journal = tmp_path / "j.jsonl"
    with plivo_fake({A: Lifecycle(["ringing"], NOANSWER), B: answers()}) as fake:
        assert run(spec, fake.url, "--journal", journal).exit_code == ExitCode.OK
        events = [json.loads(line) for line in journal.read_text().splitlines()]
        number = next(n for n, e in enumerate(events, 1) if e["event"] == "answered")
        events[number - 1]["answers"] = [1]
        journal.write_text("".join(json.dumps(e) + "\n" for e in events))
        again = run(spec, fake.url, "--resume", journal)
        assert fake.posts() == [A, B]
    assert "internal error" not in again.stderr
    assert f"j.jsonl:{number}:1: not a callspec journal line" in again.stderr
    assert again.exit_code == ExitCode.INVALID


def test_killed_right_after_a_post_the_resume_pages_no_one_else(tmp_path: Path) -> None:
    spec = roster(tmp_path, [("alice", A), ("bob", B), ("carol", C)])
    journal = tmp_path / "run.journal.jsonl"
    release = threading.Event()

    def hold_bob(to: str, n: int) -> Any:
        if to == B:
            release.wait(10)  # the POST reached Plivo; its answer is not back yet
        return None

    stories = {A: Lifecycle(["ringing"], NOANSWER), B: answers(), C: answers()}
    with plivo_fake(stories, hold_bob) as fake:
        args = ["run", spec, "--api-url", fake.url, "--journal", journal, "--no-progress"]
        args += ["--report", tmp_path / "first.json", "--poll-interval", "0.01"]
        proc = spawn([str(a) for a in args], cred_env(), tmp_path)
        try:
            fake.wait_for(lambda log: f"POST {B}" in log)
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=20)
        finally:
            proc.kill()
            release.set()
        result = run(spec, fake.url, "--resume", journal)
        assert fake.posts() == [A, B]  # bob's phone may be ringing, or bob talking
    assert "outcome unknown" in result.stdout + result.stderr
    assert result.exit_code == ExitCode.CALL_FAILED
