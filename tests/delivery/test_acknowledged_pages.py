"""Acknowledged pages against the sandbox's simulated calls: ``message:`` + ``ack:``.

The sandbox plays each call (``--simulate``): it requests the answer service's URL,
plays ``<GetDigits>`` as ``--answer-by`` scripts the callee (``ack`` presses the
key, ``human`` presses nothing, ``machine`` is voicemail), signs every request as
Plivo does; the answer service records the key; the runner reads it back.  Its own
record says which phones rang, and when each call ended.
"""

from __future__ import annotations

import itertools
import signal
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from simulation_plugin import Start, scripted
from support import TOKEN, cred_env, invoke, read_report, spawn

from callspec.errors import ExitCode
from callspec.sandbox.server import Sandbox
from callspec.serve.server import ServeConfig, Service

ANA, BEN, CLEO = "+14155550101", "+14155550102", "+14155550103"
FAST = ["--poll-interval", "0.05", "--read-rate", "500", "--no-progress"]


def _page(folder: Path, *extra: str, roster: bool = True) -> Path:
    """A page of the three (a roster, one at a time, until acknowledged), or of ana alone."""
    (folder / "oncall.csv").write_text(f"name,phone\nana,{ANA}\nben,{BEN}\ncleo,{CLEO}\n")
    lines = [
        "version: 1",
        "calls:",
        '  - name: "page-{{ row.name }}"' if roster else "  - name: page-ana",
        *(
            ["    each: oncall.csv", '    to: "{{ row.phone }}"']
            if roster
            else [f'    to: "{ANA}"']
        ),
        '    from: "+14155550100"',
        '    message: "Deploy of payments failed. Press 1 to take it."',
        '    ack: {digit: "1", within: 10}',
        *(["    escalate: {until: acknowledged, answer_within: 30}"] if roster else []),
        *extra,
    ]
    spec = folder / "page.yaml"
    spec.write_text("\n".join(lines) + "\n")
    return spec


def _run(spec: Path, *args: str | Path) -> tuple[Any, dict[str, Any]]:
    report = spec.parent / "report.json"
    argv = ["run", str(spec), "--report", str(report), *FAST, *(str(a) for a in args)]
    result = invoke(argv, cred_env())
    return result, read_report(report)


def test_the_third_acknowledges_with_nothing_else_running(tmp_path: Path) -> None:
    # The sandbox, its simulated calls and the answer service: all started by the run.
    spec = _page(tmp_path)
    outcomes = [f"{ANA}=human", f"{BEN}=machine", f"{CLEO}=ack"]
    answer_by = [word for o in outcomes for word in ("--answer-by", o)]
    result, report = _run(spec, "--sandbox", "--simulate", *answer_by)
    assert result.exit_code == ExitCode.OK, result.output
    ana, ben, cleo = report["calls"]
    assert [c["outcome"] for c in (ana, ben, cleo)] == ["fired", "fired", "fired"]
    assert [c["acknowledged"] for c in (ana, ben, cleo)] == [False, False, True]
    assert cleo["answers"][0]["acknowledged_at"] == cleo["acknowledged_at"]
    [chain] = report["chains"]
    assert (chain["verdict"], chain["by"], chain["step"]) == ("acknowledged", "page-cleo", 3)
    assert [s["fate"] for s in chain["steps"]] == ["no-key", "no-key", "acknowledged"]
    assert report["summary"]["acknowledged"] == 1
    assert "page.yaml:3: acknowledged by 'page-cleo' at " in result.stdout
    # The message never travels in a URL: Plivo got only the service's answer URL.
    url = cleo["body"]["answer_url"]
    assert url.endswith(f"/plivo/answer/{cleo['prompt']['registration']}")
    assert "Deploy" not in url and cleo["prompt"]["message"].startswith("Deploy of payments")


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    """The answer service, holding the account's token (the sandbox signs with it)."""
    with Service(ServeConfig(store=tmp_path / "acks.db", auth_token=TOKEN, port=0)) as running:
        yield running


def _rung(box: Sandbox) -> list[str]:
    return [record["body"]["to"] for record in box.calls if record.get("placed")]


def _one_at_a_time(box: Sandbox) -> bool:
    """Each call was placed only once the one before it had ended (the sandbox's record)."""
    records = box.calls
    ended = {r["call_uuid"]: r["time"] for r in records if r.get("simulated") == "end"}
    placed = [(r["time"], r["request_uuid"]) for r in records if r.get("placed")]
    stamp = datetime.fromisoformat
    return all(
        stamp(ended[before].replace("Z", "+00:00")) <= stamp(at.replace("Z", "+00:00"))
        for (_, before), (at, _) in itertools.pairwise(placed)
    )


def test_the_third_acknowledges_exactly_three_calls(
    tmp_path: Path, start: Start, service: Service
) -> None:
    box = start(scripted(f"{ANA}=human", f"{BEN}=machine", f"{CLEO}=ack", duration_s=0.2))
    spec = _page(tmp_path)
    junit = tmp_path / "junit.xml"
    result, report = _run(spec, "--api-url", box.url, "--service", service.url, "--junit", junit)
    assert result.exit_code == ExitCode.OK, result.output
    assert _rung(box) == [ANA, BEN, CLEO]  # exactly three calls
    [chain] = report["chains"]
    assert (chain["verdict"], chain["by"]) == ("acknowledged", "page-cleo")
    assert _one_at_a_time(box)
    # Each step's note says whether it was acknowledged, as it ends.
    notes = [line for line in result.stderr.splitlines() if ", step " in line]
    assert [n.split("'")[1] for n in notes] == ["page-ana", "page-ben", "page-cleo"]
    assert notes[0].endswith("; not acknowledged (no key pressed)")
    assert "; acknowledged at " + cleo_at(report) in notes[2]
    # JUnit carries the verdict as a testcase of its own, in the same words.
    case = ET.parse(junit).find(f".//testcase[@name='escalation {spec}:3']")
    assert case is not None and case.find("failure") is None
    out = case.findtext("system-out") or ""
    assert out.startswith("acknowledged by 'page-cleo' at ")
    assert out.endswith(
        ", row 3 of 3, after 'page-ana': answered, no key pressed, 'page-ben': "
        "answered, no key pressed"
    )


def test_nobody_acknowledges_every_round_rings_each_once(
    tmp_path: Path, start: Start, service: Service
) -> None:
    # Nobody acknowledges, in any of the 1 + 2 rounds: ana and cleo press nothing, ben's
    # voicemail answers.
    box = start(scripted(f"{ANA}=human", f"{BEN}=machine", f"{CLEO}=human", duration_s=0.2))
    spec = _page(tmp_path, "    repeat: {times: 2, after: 1}")
    result, report = _run(spec, "--api-url", box.url, "--service", service.url)
    assert result.exit_code == ExitCode.CALL_FAILED, result.output
    assert _rung(box) == [ANA, BEN, CLEO] * 3  # each person 1 + times, in roster order
    assert _one_at_a_time(box)
    [chain] = report["chains"]
    assert (chain["verdict"], chain["rounds"], chain["called"]) == ("answered", 3, 9)
    names = [c["name"] for c in report["calls"]]
    assert names[3:6] == ["page-ana (round 2)", "page-ben (round 2)", "page-cleo (round 2)"]
    assert "page.yaml:3: answered, not acknowledged: 'page-ana': " in result.stdout


def test_a_page_of_one_not_acknowledged_exits_1(
    tmp_path: Path, start: Start, service: Service
) -> None:
    box = start(scripted(f"{ANA}=human", duration_s=0.2))
    spec = _page(tmp_path, roster=False)  # message + ack, no roster, no escalation
    result, report = _run(spec, "--api-url", box.url, "--service", service.url)
    assert result.exit_code == ExitCode.CALL_FAILED, result.output
    [call] = report["calls"]
    assert (call["acknowledged"], call["fate"]) == (False, "no-key")
    assert "page.yaml: not acknowledged: 'page-ana': answered, no key pressed" in (result.stdout)


def test_a_page_of_one_acknowledged_exits_0(tmp_path: Path, start: Start, service: Service) -> None:
    box = start(scripted(f"{ANA}=ack", duration_s=0.2))
    spec = _page(tmp_path, roster=False)  # message + ack, no roster, no escalation
    result, report = _run(spec, "--api-url", box.url, "--service", service.url)
    assert result.exit_code == ExitCode.OK, result.output
    assert _rung(box) == [ANA]
    [call] = report["calls"]
    assert (call["acknowledged"], call["fate"]) == (True, "acknowledged")
    assert report["summary"]["acknowledged"] == 1
    assert "page.yaml: acknowledged by 'page-ana' at " in result.stdout


def test_a_call_that_asked_no_ack_reports_acknowledged_null(
    tmp_path: Path, start: Start, service: Service
) -> None:
    box = start(
        scripted(f"{ANA}=ack", duration_s=0.2)
    )  # a key pressed: still no acknowledgement was asked
    spec = tmp_path / "say.yaml"
    spec.write_text(
        "version: 1\n"
        "calls:\n"
        "  - name: say-ana\n"
        f'    to: "{ANA}"\n'
        '    from: "+14155550100"\n'
        '    message: "The deploy of payments is done."\n'
    )
    result, report = _run(spec, "--api-url", box.url, "--service", service.url, "--wait", "30")
    assert result.exit_code == ExitCode.OK, result.output
    [call] = report["calls"]
    assert call["prompt"]["ack"] is None
    assert call["acknowledged"] is None
    assert [a["acknowledged"] for a in call["answers"]] == [None]


def _until(check: Callable[[], bool], seconds: float = 30.0) -> bool:
    """Until ``check()`` holds (bounded): waits on the state, never a guessed sleep."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_resume_goes_on_with_the_round_it_stopped_in(
    tmp_path: Path, start: Start, service: Service
) -> None:
    box = start(
        scripted(f"{ANA}=human", f"{BEN}=machine", f"{CLEO}=human", duration_s=0.2)
    )  # nobody acknowledges
    spec = _page(tmp_path, "    repeat: {times: 1, after: 3}")
    journal = tmp_path / "page.journal.jsonl"
    args = ["run", str(spec), "--api-url", box.url, "--service", service.url]
    args += ["--journal", str(journal), "--report", str(tmp_path / "first.json"), *FAST]
    first = spawn(args, cred_env(), tmp_path)
    try:
        # Round 1 is over once its three steps are journaled as followed to their end;
        # the run then waits 3 s for round 2: killed there.
        def answered() -> int:
            text = journal.read_text() if journal.exists() else ""
            return text.count('"event":"answered"')

        assert _until(lambda: answered() == 3)
    finally:
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=10)  # (its pipes closed too)
    assert _rung(box) == [ANA, BEN, CLEO]

    report = tmp_path / "resumed.json"
    result = invoke(
        ["run", str(spec), "--api-url", box.url, "--service", service.url, "--resume",
         str(journal), "--report", str(report), *FAST],
        cred_env(),
    )  # fmt: skip
    assert result.exit_code == ExitCode.CALL_FAILED, result.output
    assert _rung(box) == [ANA, BEN, CLEO] * 2  # round 2 once; nobody twice in round 1
    calls = read_report(report)["calls"]
    assert [c["outcome"] for c in calls] == ["skipped"] * 3 + ["fired"] * 3
    assert all("already fired in run" in c["reason"] for c in calls[:3])


def test_once_acknowledged_nobody_else_is_paged_and_the_others_say_so(
    tmp_path: Path, start: Start, service: Service
) -> None:
    box = start(scripted(f"{ANA}=human", f"{BEN}=ack", f"{CLEO}=ack", duration_s=0.2))
    spec = _page(tmp_path, "    repeat: {times: 1, after: 1}")
    journal = tmp_path / "page.journal.jsonl"
    result, report = _run(
        spec, "--api-url", box.url, "--service", service.url, "--journal", journal
    )
    assert result.exit_code == ExitCode.OK, result.output
    assert _rung(box) == [ANA, BEN]
    later = report["calls"][2:]
    assert [c["name"] for c in later] == ["page-cleo", *(f"{n} (round 2)" for n in _NAMES)]
    assert {c["reason"] for c in later} == {"escalation stopped: acknowledged by 'page-ben', row 2"}
    assert {(c["skip_kind"], c["fate"]) for c in later} == {("answered", "not-called")}
    # A resume of that run pages nobody, and says why in the same words.
    again = tmp_path / "again.json"
    resumed = invoke(
        ["run", str(spec), "--api-url", box.url, "--service", service.url, "--resume",
         str(journal), "--report", str(again), *FAST],
        cred_env(),
    )  # fmt: skip
    assert resumed.exit_code == ExitCode.OK, resumed.output
    assert _rung(box) == [ANA, BEN]
    cleo = read_report(again)["calls"][2]
    assert cleo["reason"].startswith("escalation stopped: acknowledged by 'page-ben' in run ")


_NAMES = ("page-ana", "page-ben", "page-cleo")


def cleo_at(report: dict[str, Any]) -> str:
    return str(report["calls"][2]["acknowledged_at"])


ROTATION = """\
version: 1
rotations:
  backend:
    time_zone: America/New_York
    start: "2026-12-07T09:00"
    shift: weekly
    layers: {primary: [ana, ben, cleo], secondary: [ben, cleo, ana], tertiary: [cleo, ana, ben]}
    people:
      ana: {phone: "+14155550101", time_zone: America/Los_Angeles, quiet: "22:00-07:00"}
      ben: {phone: "+14155550102"}
      cleo: {phone: "+14155550103"}
calls:
  - name: "page-{{ row.name }}"
    each: {rotation: backend, layers: [primary, secondary, tertiary]}
    from: "+14155550100"
    to: "{{ row.phone }}"
    message: "db-1 is down. Press 1 to take it."
    ack: {within: 10}
    escalate: {until: acknowledged, answer_within: 30}
    repeat: {times: 1, after: 1}
"""


def test_a_rotation_repeated_until_acknowledged_holds_the_quiet_in_every_round(
    tmp_path: Path,
) -> None:
    # 08:00 UTC: ana's midnight (quiet hours); ben presses nothing, cleo a wrong key.
    spec = tmp_path / "page.yaml"
    spec.write_text(ROTATION)
    args = ["--sandbox", "--simulate", "--at", "2026-12-08T08:00:00Z"]
    args += ["--answer-by", f"{BEN}=human", "--answer-by", f"{CLEO}=wrong-key"]
    result, report = _run(spec, *args)
    assert result.exit_code == ExitCode.CALL_FAILED, result.output
    placed = [c["body"]["to"] for c in report["calls"] if c["outcome"] == "fired"]
    assert placed == [BEN, CLEO] * 2  # ana never: held in each round
    [chain] = report["chains"]
    assert (chain["verdict"], chain["rounds"], chain["called"]) == ("answered", 2, 4)
    fates = [s["fate"] for s in chain["steps"]]
    assert fates == ["held", "no-key", "wrong-key"] * 2


def test_a_step_answered_and_not_acknowledged_in_time_is_hung_up_before_the_next(
    tmp_path: Path, start: Start, service: Service
) -> None:
    # Every callee stays on the line for 3 s (ack.within: 1); ana presses nothing, ben 1.
    box = start(scripted(f"{ANA}=human", f"{BEN}=ack", duration_s=3.0))
    spec = _page(tmp_path)
    spec.write_text(spec.read_text().replace("within: 10", "within: 1"))
    result, report = _run(spec, "--api-url", box.url, "--service", service.url)
    assert result.exit_code == ExitCode.OK, result.output
    assert _rung(box) == [ANA, BEN]
    [ana] = report["calls"][0]["answers"]
    assert (ana["answered"], ana["acknowledged"], ana["hung_up"]) == (True, False, True)
    assert "answered, not acknowledged in time: hung up with Plivo's hangup API" in ana["note"]
    assert _one_at_a_time(box)  # ben was called once ana's call had ended
    [chain] = report["chains"]
    assert (chain["verdict"], chain["by"]) == ("acknowledged", "page-ben")
