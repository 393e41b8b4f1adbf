"""Resume matching: which journal entry speaks for which call of an edited plan, so that no
phone the journal shows placed rings again (a row renamed, re-spelled, or shifted by an
inserted row).  Moved from review 12, with the destination identity of issue 18."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from support import cred_env, invoke, read_report, sandbox, write_profiles

from callspec.delivery.entries import JournalEntry, read_journal
from callspec.delivery.resume import ResumeIndex
from callspec.errors import ExitCode
from callspec.spec.model import CallPlan

SPEC = """version: 1
defaults:
  from: "+14152224444"
  answer_url: https://hooks.example.com/answer.xml
calls:
  - name: "NAME"
    each: d.csv
    to: "{{ row.phone }}"
"""


def _spec(folder: Path, name: str = "page-{{ row.name }}") -> Path:
    (folder / ".git").mkdir(exist_ok=True)
    path = folder / "calls.yaml"
    path.write_text(SPEC.replace("NAME", name))
    return path


def _placed_to(records: list[dict[str, Any]]) -> list[str]:
    return [str(r["body"]["to"]) for r in records if r.get("placed")]


def _run(spec: Path, url: str, journal: Path, *extra: str) -> None:
    args = ["run", spec, "--api-url", url, "--rate", "200", "--journal", journal, *extra]
    result = invoke(args, cred_env())
    assert result.exit_code == ExitCode.OK, result.stderr


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("alcie", "alice"),
        (unicodedata.normalize("NFC", "José"), unicodedata.normalize("NFD", "José")),
    ],
    ids=["typo-fixed", "same-name-re-exported-as-NFD"],
)
def test_a_row_renamed_since_it_was_placed_is_not_sent_again(
    tmp_path: Path, before: str, after: str
) -> None:
    write_profiles(tmp_path)
    roster = tmp_path / "d.csv"
    roster.write_text(f"name,phone\n{before},+14152220001\nbob,+14152220002\n")
    spec = _spec(tmp_path)
    journal = tmp_path / "journal.jsonl"
    with sandbox() as sb:
        _run(spec, sb.url, journal)
        assert len(_placed_to(sb.calls)) == 2
        roster.write_text(f"name,phone\n{after},+14152220001\nbob,+14152220002\n")
        report = tmp_path / "r.json"
        _run(spec, sb.url, journal, "--resume", str(journal), "--report", str(report))
        placed = _placed_to(sb.calls)
    assert placed.count("+14152220001") == 1, placed
    calls = {c["name"]: c for c in read_report(report)["calls"]}
    assert calls[f"page-{after}"]["outcome"] == "skipped"


def test_inserting_a_row_with_index_names_rings_only_the_new_row(tmp_path: Path) -> None:
    write_profiles(tmp_path)
    roster = tmp_path / "d.csv"
    roster.write_text("name,phone\nann,+14152220001\nbob,+14152220002\ncid,+14152220003\n")
    spec = _spec(tmp_path, name="oncall-{{ row.index }}")
    journal = tmp_path / "journal.jsonl"
    with sandbox() as sb:
        _run(spec, sb.url, journal)
        # dee inserted after ann: bob and cid move down one place (and take other names).
        roster.write_text(
            "name,phone\nann,+14152220001\ndee,+14152220004\nbob,+14152220002\ncid,+14152220003\n"
        )
        _run(spec, sb.url, journal, "--resume", str(journal))
        placed = _placed_to(sb.calls)
    # Each phone once (in whatever order the workers sent the first run): dee's the new one.
    assert sorted(placed) == ["+14152220001", "+14152220002", "+14152220003", "+14152220004"]
    assert placed[-1] == "+14152220004"


def _plan_call(name: str, to: str, path: str = "calls.yaml", **more: str) -> CallPlan:
    body = {"from": "+14152224444", "to": to, "answer_url": "https://h.example.com/a", **more}
    return CallPlan(path, 5, 0, name, (), None, body, spec_path=path, abs_path="/p/" + path)


def _journaled(call: CallPlan, state: str = "fired") -> JournalEntry:
    return JournalEntry(
        call.key, call.name, call.spec_file, state, "run-1", None, call.spec_path,
        None, call.abs_path, call.legacy_key, call.content_key, None, call.body_key,
        str(call.body["to"]),
    )  # fmt: skip


def test_resume_matches_journal_entries_to_calls_one_to_one() -> None:
    """An entry speaks for one call: by key, then body (renamed), then name or phone (changed)."""
    placed = [
        _plan_call("a", "+14155550001"),
        _plan_call("b", "+14155550002"),
        _plan_call("c", "+14155550003"),
        _plan_call("twin", "+14155550004"),  # placed once, its twin (same body) never
        _plan_call("d", "+14155550005"),
    ]
    entries = {e.key: e for e in map(_journaled, placed)}
    now = [
        placed[0],  # unchanged
        _plan_call("b-renamed", "+14155550002"),  # same body
        _plan_call("c-renamed", "+14155550003", caller_name="C"),  # same file and phone
        placed[3],
        _plan_call("twin-2", "+14155550004", path="other.yaml"),  # same body, another call
        _plan_call("D", "14155550005"),  # renamed, its number re-spelled: the same phone
        _plan_call("new", "+14155550009"),
    ]
    found = ResumeIndex(entries).match_all(now)
    assert [m and (m.entry.name, m.how) for m in found] == [
        ("a", "same"),
        ("b", "renamed"),
        ("c", "changed"),
        ("twin", "same"),
        None,  # the twin's entry speaks for the twin: this one was never placed
        ("d", "changed"),
        None,
    ]


def test_a_journal_without_body_keys_still_matches_a_renamed_call(tmp_path: Path) -> None:
    """Journals written before ``body_key``: the started line's body gives it."""
    old = _plan_call("alcie", "+14155550001")
    lines = [
        {"event": "started", "run_id": "r1", "key": old.key, "name": old.name,
         "spec_file": old.spec_file, "spec_path": old.spec_path, "body": dict(old.body)},
        {"event": "finished", "run_id": "r1", "key": old.key, "name": old.name,
         "spec_file": old.spec_file, "outcome": "fired"},
    ]  # fmt: skip
    journal = tmp_path / "j.jsonl"
    journal.write_text("".join(json.dumps(line) + "\n" for line in lines))
    [found] = ResumeIndex(read_journal(journal)).match_all([_plan_call("alice", "+14155550001")])
    assert found is not None and found.how == "renamed" and found.entry.state == "fired"
