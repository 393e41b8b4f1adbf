"""Resume matching: which journal entry speaks for which call of an edited plan, so that no
phone the journal shows placed rings again (a row renamed, re-spelled, or shifted by an
inserted row), and which never speaks for a call of another project or work tree.

A call's identity is its path in its git work tree, its name and its body."""

from __future__ import annotations

import json
import shutil
import subprocess
import unicodedata
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import FIRED, answering, cred_env, invoke, read_report, sandbox, write_profiles

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


# --- another project, another work tree ------------------------------------------------------


def _git_project(
    folder: Path, spec: dict[str, Any], profiles: dict[str, Any] | None = None
) -> Path:
    """A git work tree with a profiles file and ``spec`` as specs/oncall.yaml."""
    folder.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    (folder / "profiles.yaml").write_text(
        yaml.safe_dump(profiles or {"version": 1, "profiles": {"default": {}}})
    )
    (folder / "specs").mkdir()
    (folder / "specs" / "oncall.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return folder


def _one_call(name: str, to: str, frm: str, hook: str) -> dict[str, Any]:
    return {
        "version": 1,
        "defaults": {"from": frm},
        "calls": [{"name": name, "to": to, "answer_url": f"https://hooks.example.com/{hook}.xml"}],
    }


def test_another_projects_journal_does_not_suppress_this_projects_page(tmp_path: Path) -> None:
    a = _git_project(
        tmp_path / "team-a", _one_call("page-primary", "+14155550100", "+14152224444", "a")
    )
    b = _git_project(
        tmp_path / "team-b", _one_call("page-primary", "+14155550777", "+14152229999", "b")
    )
    journal = tmp_path / "shared.jsonl"
    with sandbox() as sb:
        first = invoke(
            ["run", str(a / "specs/oncall.yaml"), "--api-url", sb.url, "--journal", str(journal)],
            cred_env(),
        )
        assert first.exit_code == ExitCode.OK, first.stderr
        result = invoke(
            ["run", str(b / "specs/oncall.yaml"), "--api-url", sb.url, "--resume", str(journal)],
            cred_env(),
        )
        placed = _placed_to(sb.calls)
    # Team B's page was never placed anywhere: the journal speaks for none of its calls.
    assert result.exit_code == ExitCode.REFUSED, result.stderr
    assert "none of its 1 calls is in this run" in result.stderr
    assert placed == ["+14155550100"]


def test_two_work_trees_with_the_same_call_are_refused_never_crossed(tmp_path: Path) -> None:
    # The two calls have one identity (path in the work tree, name, body): a journal could
    # not tell them apart, so the run is refused before anything is sent (and the runner
    # looks credentials up by position, so no plan can cross two accounts).
    spec = _one_call("deploy-alert", "+14155550100", "+14152224444", "deploy")
    with (
        answering(lambda h, n: FIRED) as (url_a, log_a),
        answering(lambda h, n: FIRED) as (url_b, log_b),
    ):
        for name, auth, url in (
            ("a", "MAACCOUNTAAAAAAAAAAA", url_a),
            ("b", "MAACCOUNTBBBBBBBBBBB", url_b),
        ):
            profiles = {
                "version": 1,
                "profiles": {
                    "default": {"auth_id": auth, "auth_token": f"tok-{name}", "api_url": url}
                },
            }
            _git_project(tmp_path / f"repo-{name}", spec, profiles)
        result = invoke(
            [
                "run",
                str(tmp_path / "repo-a/specs/oncall.yaml"),
                str(tmp_path / "repo-b/specs/oncall.yaml"),
                "--report",
                str(tmp_path / "r.json"),
            ],
            {},
        )
    assert result.exit_code == ExitCode.INVALID, result.stderr
    assert "the same call as 'deploy-alert'" in result.stderr
    assert "run them separately" in result.stderr
    assert log_a == [] and log_b == []


def test_a_spec_whose_identity_changed_is_not_resent_beside_one_that_matched(
    tmp_path: Path,
) -> None:
    first = tmp_path / "ws-1" / "project"
    _git_project(first, _one_call("page-own", "+14155550100", "+14152224444", "own"))
    vendored = first / "vendor-specs"  # a nested repo (its own .git) in run 1
    vendored.mkdir()
    subprocess.run(["git", "init", "-q", str(vendored)], check=True)
    (vendored / "pager.yaml").write_text(
        yaml.safe_dump(_one_call("page-shared", "+14155550200", "+14152224444", "shared"))
    )
    journal = tmp_path / "journal.jsonl"
    specs = ["specs/oncall.yaml", "vendor-specs/pager.yaml"]
    with sandbox() as sb:
        r1 = invoke(
            [
                "run",
                *[str(first / s) for s in specs],
                *("--api-url", sb.url, "--journal", str(journal)),
                *("--report", str(tmp_path / "r1.json")),
            ],
            cred_env(),
        )
        assert r1.exit_code == ExitCode.OK, r1.stderr
        # CI workspace 2: same checkout elsewhere, the nested repo fetched as a tarball (no .git).
        second = tmp_path / "ws-2" / "project"
        shutil.copytree(first, second, symlinks=True)
        shutil.rmtree(second / "vendor-specs" / ".git")
        r2 = invoke(
            [
                "run",
                *[str(second / s) for s in specs],
                *("--api-url", sb.url, "--resume", str(journal)),
                *("--report", str(tmp_path / "r2.json")),
            ],
            cred_env(),
        )
        placed = _placed_to(sb.calls)
    assert r2.exit_code == ExitCode.OK, r2.stderr
    assert sorted(placed) == ["+14155550100", "+14155550200"]  # each once, run 1's


def test_a_resume_says_how_many_calls_it_sends_not_how_many_it_plans(tmp_path: Path) -> None:
    write_profiles(tmp_path)
    roster = tmp_path / "d.csv"
    roster.write_text("name,phone\nann,+14152220001\n")
    spec = _spec(tmp_path)
    journal = tmp_path / "journal.jsonl"
    with sandbox() as sb:
        _run(spec, sb.url, journal)
        args = ["run", spec, "--api-url", sb.url, "--journal", journal, "--resume", journal]
        nothing = invoke(args, cred_env())
        roster.write_text("name,phone\nann,+14152220001\nbob,+14152220002\n")
        one = invoke(args, cred_env())
        placed = _placed_to(sb.calls)
    assert nothing.exit_code == ExitCode.OK, nothing.stderr
    assert "callspec: nothing to send: all 1 call(s) are settled already" in nothing.stderr
    assert "call(s) to" not in nothing.stderr
    assert one.exit_code == ExitCode.OK, one.stderr
    assert f"callspec: sending 1 call(s) to {sb.url}" in one.stderr
    assert placed == ["+14152220001", "+14152220002"]
