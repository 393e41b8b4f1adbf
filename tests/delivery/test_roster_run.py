"""Rosters on the sandbox: each row paged exactly once, and resumed by rendered name."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from support import ROOT, cred_env, invoke, read_report, sandbox, write_profiles

from callspec.errors import ExitCode

SPEC = """version: 1
defaults:
  from: "+14152224444"
calls:
  - name: "page-{{ row.name }}"
    each: oncall.csv
    to: "{{ row.phone }}"
    answer_url: "https://hooks.example.com/answer.xml?call=page-{{ row.name }}"
"""


def _placed(records: list[dict[str, object]]) -> list[str]:
    return sorted(str(r["body"]["to"]) for r in records if r.get("placed"))  # type: ignore[index]


def test_the_example_roster_pages_each_person_exactly_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(ROOT / "specs", tmp_path / "specs")
    monkeypatch.chdir(tmp_path)
    people = (tmp_path / "specs" / "oncall.csv").read_text().splitlines()[1:]
    phones = sorted(line.split(",")[1] for line in people)
    assert len(phones) == 5
    with sandbox() as sb:
        args = ["run", "specs/roster.yaml", "--api-url", sb.url, "--rate", "200"]
        result = invoke([*args, "--report", str(tmp_path / "r.json")], cred_env())
        assert result.exit_code == ExitCode.OK, result.stderr
        assert _placed(sb.calls) == phones
    report = read_report(tmp_path / "r.json")
    assert sorted(c["name"] for c in report["calls"]) == sorted(
        f"page-{line.split(',')[0]}" for line in people
    )


def test_inserting_a_row_then_resuming_sends_only_the_new_row(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    write_profiles(tmp_path)
    (tmp_path / "calls.yaml").write_text(SPEC)
    csv = tmp_path / "oncall.csv"
    csv.write_text("name,phone\nann,+14152220001\nbob,+14152220002\ncid,+14152220003\n")
    journal = tmp_path / "journal.jsonl"
    base = ["run", str(tmp_path / "calls.yaml"), "--rate", "200"]
    with sandbox() as sb:
        first = invoke([*base, "--api-url", sb.url, "--journal", str(journal)], cred_env())
        assert first.exit_code == ExitCode.OK, first.stderr
        assert len(sb.calls) == 3
        # A row inserted at the top moves every row's index; cid's number changed.
        csv.write_text(
            "name,phone\ndee,+14152220004\nann,+14152220001\nbob,+14152220002\ncid,+14152220009\n"
        )
        report = tmp_path / "resumed.json"
        args = [*base, "--api-url", sb.url, "--resume", str(journal), "--report", str(report)]
        second = invoke(args, cred_env())
        assert second.exit_code == ExitCode.OK, second.stderr
        assert _placed(sb.calls) == sorted(
            ["+14152220001", "+14152220002", "+14152220003", "+14152220004"]
        )
    calls = {c["name"]: c for c in read_report(report)["calls"]}
    assert calls["page-dee"]["outcome"] == "fired"
    assert calls["page-ann"]["outcome"] == "skipped"
    assert "already fired" in str(calls["page-ann"])
    assert calls["page-cid"]["outcome"] == "skipped"
    assert "changed since run" in str(calls["page-cid"])
