"""The outputs say what a pager cares about: who answered, and how each escalation ended.

An escalation through a three-row roster on the embedded sandbox, its calls
played by the simulator (``--simulate``, ``--answer-by`` scripting who answers),
the answer URL served by a server of the test's own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from github_runner import ActionRun, run_action
from support import answering

from callspec.errors import ExitCode
from callspec.report.verdicts import when

PAGE = b"<Response><Speak>db-1 is down.</Speak></Response>"
ALICE, BOB, CAROL = "+14155550101", "+14155550102", "+14155550103"


def _page(handler: BaseHTTPRequestHandler, n: int) -> tuple[int, dict[str, str], bytes]:
    return 200, {"Content-Type": "application/xml"}, PAGE


@pytest.fixture
def roster(tmp_path: Path) -> Iterator[Path]:
    """A repository paging alice, bob and carol in turn (``page.yaml``, chain page.yaml:3)."""
    folder = tmp_path / "repo"
    folder.mkdir()
    (folder / "oncall.csv").write_text(f"name,phone\nalice,{ALICE}\nbob,{BOB}\ncarol,{CAROL}\n")
    with answering(_page) as (url, _):
        (folder / "page.yaml").write_text(
            "version: 1\n"
            "calls:\n"
            '  - name: "page-{{ row.name }}"\n'
            "    each: oncall.csv\n"
            '    to: "{{ row.phone }}"\n'
            '    from: "+14155550100"\n'
            f"    answer_url: {url}/page.xml\n"
            "    answer_method: GET\n"
            "    hangup_method: GET\n"
            "    machine_detection: hangup\n"
            "    escalate: {answer_within: 45, until: human}\n"
        )
        yield folder


def page(tmp_path: Path, roster: Path, *argv: str) -> ActionRun:
    fast = ["--simulate-duration", "0", "--poll-interval", "0.05"]
    lines = "\n".join(["--sandbox", "--simulate", *fast, *argv])
    return run_action(tmp_path, roster, {"command": "run", "paths": "page.yaml", "argv": lines})


def counts(done: ActionRun, *names: str) -> dict[str, str]:
    return {name: done.outputs[name] for name in names}


def test_an_answered_escalation(tmp_path: Path, roster: Path) -> None:
    done = page(tmp_path, roster, "--answer-by", f"{ALICE}=no-answer")
    assert (done.code, done.outputs["exit-code"]) == (ExitCode.OK, "0")
    assert counts(done, "fired", "skipped", "answered", "unanswered", "answer-unknown") == {
        "fired": "2",
        "skipped": "1",
        "answered": "1",
        "unanswered": "1",
        "answer-unknown": "0",
    }
    [chain] = json.loads(done.outputs["escalations"])
    answered_at = chain.pop("at")
    assert chain == {
        "chain": "page.yaml:3",
        "verdict": "answered",
        "name": "page-bob",
        "answered_by": "human",
        "step": 2,
        "round": 1,
        "rounds": 1,
        "steps": 3,
        "called": 2,
        # the sentence the terminal, the page and the step summary say it with
        "words": f"answered by 'page-bob' (human) at {when(answered_at)}, row 2 of 3, after "
        "'page-alice': no answer, 'page-carol': not called",
    }
    assert counts(
        done,
        "escalations-acknowledged",
        "escalations-answered",
        "escalations-unanswered",
        "escalations-stopped",
    ) == {
        "escalations-acknowledged": "0",
        "escalations-answered": "1",
        "escalations-unanswered": "0",
        "escalations-stopped": "0",
    }


def test_an_escalation_nobody_answered(tmp_path: Path, roster: Path) -> None:
    nobody = [f"--answer-by\n{n}=no-answer" for n in (ALICE, BOB)] + [f"--answer-by\n{CAROL}=busy"]
    done = page(tmp_path, roster, *nobody)
    assert (done.code, done.outputs["exit-code"]) == (ExitCode.CALL_FAILED, "1")
    assert counts(done, "fired", "answered", "unanswered") == {
        "fired": "3",
        "answered": "0",
        "unanswered": "3",
    }
    [chain] = json.loads(done.outputs["escalations"])
    assert chain == {
        "chain": "page.yaml:3",
        "verdict": "unanswered",
        "name": None,
        "answered_by": None,
        "at": None,
        "step": None,
        "round": None,
        "rounds": 1,
        "steps": 3,
        "called": 3,
        "words": "unanswered: 'page-alice': no answer, 'page-bob': no answer, "
        "'page-carol': busy (3 of 3 called)",
    }
    assert done.outputs["escalations-unanswered"] == "1"


def test_a_machine_does_not_end_an_escalation_until_human(tmp_path: Path, roster: Path) -> None:
    done = page(tmp_path, roster, "--answer-by", f"{ALICE}=machine")
    [chain] = json.loads(done.outputs["escalations"])
    assert (chain["verdict"], chain["name"], chain["step"]) == ("answered", "page-bob", 2)
    # alice's voicemail answered: not a person who heard the page
    assert counts(done, "answered", "unanswered") == {"answered": "1", "unanswered": "1"}


def test_a_dry_run_plans_the_escalation(tmp_path: Path, roster: Path) -> None:
    done = run_action(
        tmp_path, roster, {"command": "run", "paths": "page.yaml", "args": "--dry-run"}
    )
    assert done.code == ExitCode.OK
    [chain] = json.loads(done.outputs["escalations"])
    assert (chain["verdict"], chain["called"], chain["steps"]) == ("planned", 0, 3)
    assert counts(done, "answered", "unanswered", "escalations-answered") == {
        "answered": "0",
        "unanswered": "0",
        "escalations-answered": "0",
    }


def test_an_acknowledged_page(tmp_path: Path, roster: Path) -> None:
    (roster / "ack.yaml").write_text(
        "version: 1\n"
        "calls:\n"
        '  - name: "ack-{{ row.name }}"\n'
        "    each: oncall.csv\n"
        '    to: "{{ row.phone }}"\n'
        '    from: "+14155550100"\n'
        '    message: "db-1 is down. Press 1 to take it."\n'
        "    ack: {digit: '1', within: 20}\n"
        "    escalate: {answer_within: 45, until: acknowledged}\n"
    )
    fast = ["--simulate-duration", "0", "--poll-interval", "0.05"]
    argv = [*fast, "--answer-by", f"{ALICE}=human", "--answer-by", f"{BOB}=ack"]
    lines = "\n".join(["--sandbox", "--simulate", *argv])
    done = run_action(tmp_path, roster, {"command": "run", "paths": "ack.yaml", "argv": lines})
    assert (done.code, done.outputs["exit-code"]) == (ExitCode.OK, "0")
    assert counts(done, "answered", "acknowledged", "escalations-acknowledged") == {
        "answered": "2",
        "acknowledged": "1",
        "escalations-acknowledged": "1",
    }
    [chain] = json.loads(done.outputs["escalations"])
    assert (chain["verdict"], chain["name"], chain["step"]) == ("acknowledged", "ack-bob", 2)
    words = chain["words"]
    assert words == (
        f"acknowledged by 'ack-bob' at {when(chain['at'])}, row 2 of 3, after 'ack-alice': "
        "answered, no key pressed, 'ack-carol': not called"
    )
    # The step summary says the same sentence.
    assert f"- escalation ack.yaml:3: {words}" in done.summary
