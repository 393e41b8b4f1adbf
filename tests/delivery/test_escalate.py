"""``escalate:``: a chain placed one call at a time until someone answers, end to end.

Against the Plivo stand-in of ``conftest.py``: each destination's scripted
story (answers, no answer, busy, a machine) is read back over real HTTP, and
its log says exactly which phones were rung.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path
from typing import Any

from delivery_stories import run_followed
from plivo_fake import NOT_FOUND, Leg, PlivoFake, Reply, answers, live, plivo_fake
from support import AUTH_ID, TOKEN, cred_env, invoke, read_report, spawn

from callspec.delivery.credentials import Credentials
from callspec.delivery.options import RunOptions
from callspec.delivery.rate import RateLimiter
from callspec.delivery.runner import Runner
from callspec.delivery.wait import WaitOptions
from callspec.errors import ExitCode
from callspec.redact import Redactor
from callspec.spec.model import PlanOptions
from callspec.spec.plan import build_plan

ANSWERS = "+14155550001"
NO_ANSWER = "+14155550002"
MACHINE = "+14155550003"
BUSY = "+14155550007"
NO_ANSWER_TOO = "+14155550008"
RINGS_FOREVER = "+14155550004"
FLAKY_ANSWERS = "+14155550006"


def _chain(
    folder: Path, *to: str, until: str = "answered", machine: bool = False, within: int = 45
) -> Path:
    lines = [
        "version: 1",
        "calls:",
        "  - name: page",
        f"    to: {json.dumps(list(to))}",
        '    from: "+14155550100"',
        "    answer_url: https://example.com/answer.xml",
        f"    escalate: {{answer_within: {within}, until: {until}}}",
    ]
    if machine:
        lines.append("    machine_detection: hangup")
    path = folder / "chain.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _run(folder: Path, url: str, *extra: str) -> tuple[Any, dict[str, Any], str]:
    return run_followed(folder / "chain.yaml", url, *extra)


def test_the_secondary_answers_the_third_is_never_rung(tmp_path: Path, plivo: PlivoFake):
    _chain(tmp_path, NO_ANSWER, ANSWERS, FLAKY_ANSWERS)
    result, report, junit = _run(tmp_path, plivo.url)
    assert result.exit_code == ExitCode.OK, result.output
    assert plivo.posts() == [NO_ANSWER, ANSWERS]  # exactly two phones, in roster order
    first, second, third = report["calls"]
    assert first["answers"][0]["answered"] is False
    assert second["answers"][0]["answered"] is True
    assert second["answers"][0]["answer_time"] == "2026-11-27 02:00:05+00:00"
    assert (third["outcome"], third["reason"]) == (
        "skipped",
        "escalation stopped: answered by 'page[2]', row 2",
    )
    assert "answers" not in third
    assert [c["escalate"]["step"] for c in report["calls"]] == [1, 2, 3]
    assert (
        "chain.yaml:3: answered by 'page[2]' at 2026-11-27 02:00:05 UTC, row 2 of 3, after "
        "'page[1]': no answer, 'page[3]': not called" in result.stdout
    )
    assert "<failure" not in junit and 'message="escalation stopped' in junit
    # Never two at once: the second was placed only after the first had ended.
    first_done = plivo.log.index(f"GET {NO_ANSWER} record")
    assert plivo.log.index(f"POST {ANSWERS}") > first_done


def test_nobody_answers_three_calls_and_exit_1(tmp_path: Path, plivo: PlivoFake):
    _chain(tmp_path, NO_ANSWER, BUSY, NO_ANSWER_TOO)
    result, report, junit = _run(tmp_path, plivo.url)
    assert result.exit_code == ExitCode.CALL_FAILED
    assert plivo.posts() == [NO_ANSWER, BUSY, NO_ANSWER_TOO]
    assert [c["answers"][0]["answered"] for c in report["calls"]] == [False, False, False]
    assert report["calls"][1]["answers"][0]["call_state"] == "BUSY"
    assert (
        "chain.yaml:3: unanswered: 'page[1]': no answer, 'page[2]': busy, 'page[3]': no answer "
        "(3 of 3 called)" in result.stdout
    )
    assert junit.count('type="not-answered"') == 3
    # --wait-ok no-answer accepts it, as for --wait.
    ok, _, _ = _run(tmp_path, plivo.url, "--wait", "60", "--wait-ok", "no-answer")
    assert ok.exit_code == ExitCode.OK


def test_voicemail_does_not_stop_until_human(tmp_path: Path, plivo: PlivoFake):
    _chain(tmp_path, MACHINE, ANSWERS, NO_ANSWER, until="human", machine=True)
    result, report, _ = _run(tmp_path, plivo.url)
    assert result.exit_code == ExitCode.OK, result.output
    assert plivo.posts() == [MACHINE, ANSWERS]
    first, second, third = report["calls"]
    assert (first["answers"][0]["answered"], first["answers"][0]["answered_by"]) == (
        True,
        "machine",
    )
    assert second["answers"][0]["answered_by"] == "human"
    assert third["reason"] == "escalation stopped: answered by 'page[2]' (human), row 2"
    assert "yes (machine)" in result.stdout and "yes (human)" in result.stdout


def test_until_answered_stops_at_a_machine(tmp_path: Path, plivo: PlivoFake):
    _chain(tmp_path, MACHINE, ANSWERS, machine=True)
    result, report, _ = _run(tmp_path, plivo.url)
    assert plivo.posts() == [MACHINE]
    assert report["calls"][1]["outcome"] == "skipped"
    assert result.exit_code == ExitCode.OK


def test_max_calls_counts_the_whole_chain(tmp_path: Path, plivo: PlivoFake):
    _chain(tmp_path, NO_ANSWER, ANSWERS, BUSY)
    report = tmp_path / "report.json"
    result = invoke(
        [
            "run",
            str(tmp_path / "chain.yaml"),
            "--api-url",
            plivo.url,
            "--max-calls",
            "2",
            "--report",
            str(report),
        ],
        cred_env(),
    )
    assert result.exit_code == ExitCode.REFUSED
    assert "refusing to place 3 calls" in result.stderr
    assert plivo.log == []


def test_resume_after_a_crash_never_rings_the_primary_again(tmp_path: Path, plivo: PlivoFake):
    _chain(tmp_path, NO_ANSWER, ANSWERS, BUSY)
    journal = tmp_path / "run.journal.jsonl"
    args = [
        "run",
        str(tmp_path / "chain.yaml"),
        "--api-url",
        plivo.url,
        "--journal",
        str(journal),
        "--report",
        str(tmp_path / "first.json"),
        "--poll-interval",
        "5",
        "--no-progress",
    ]
    proc = spawn(args, cred_env(), tmp_path)
    try:
        # The primary is placed and being followed (its first read; the next in 5 s).
        plivo.wait_for(lambda log: f"GET {NO_ANSWER} live" in log)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert plivo.posts() == [NO_ANSWER]
    events = [json.loads(line)["event"] for line in journal.read_text().splitlines()]
    assert events == ["started", "finished"]  # placed, journaled; died while following it

    result, report, _ = _run(tmp_path, plivo.url, "--resume", str(journal))
    assert result.exit_code == ExitCode.OK, result.output
    assert plivo.posts() == [NO_ANSWER, ANSWERS]  # the primary was not rung again
    first, second, third = report["calls"]
    assert first["outcome"] == "skipped" and first["reason"].startswith("already fired")
    assert first["answers"][0]["answered"] is False  # read back from Plivo: no answer
    assert second["outcome"] == "fired" and second["answers"][0]["answered"] is True
    assert third["reason"] == "escalation stopped: answered by 'page[2]', row 2"

    # Resumed again: the journal shows the answer; nothing is sent, nothing read.
    before = list(plivo.log)
    again, report, _ = _run(tmp_path, plivo.url, "--resume", str(journal))
    assert again.exit_code == ExitCode.OK, again.output
    assert plivo.log == before
    assert report["calls"][1]["answers"][0]["answered"] is True
    assert report["calls"][2]["outcome"] == "skipped"


def test_ctrl_c_while_a_step_rings_then_resume_hangs_it_up(tmp_path: Path, plivo: PlivoFake):
    # The shortest answer_within: on resume the ringing step gets the rest of it, then
    # is hung up before the next one rings.
    _chain(tmp_path, RINGS_FOREVER, ANSWERS, BUSY, within=5)
    journal = tmp_path / "run.journal.jsonl"
    args = [
        "run",
        str(tmp_path / "chain.yaml"),
        "--api-url",
        plivo.url,
        "--journal",
        str(journal),
        "--report",
        str(tmp_path / "first.json"),
        "--poll-interval",
        "0.05",
        "--no-progress",
    ]
    proc = spawn(args, cred_env(), tmp_path)
    try:
        plivo.wait_for(lambda log: sum(x == f"GET {RINGS_FOREVER} live" for x in log) >= 2)
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == ExitCode.INTERRUPTED
    first = read_report(tmp_path / "first.json")
    assert [c["outcome"] for c in first["calls"]] == ["fired", "skipped", "skipped"]
    assert first["calls"][0]["answers"][0]["note"] == (
        "the wait was interrupted; it was still ringing"
    )
    assert not any(x.startswith("DELETE") for x in plivo.log)

    result, report, _ = _run(tmp_path, plivo.url, "--resume", str(journal))
    assert result.exit_code == ExitCode.OK, result.output
    assert plivo.posts() == [RINGS_FOREVER, ANSWERS]
    (deleted,) = [x for x in plivo.log if x.startswith("DELETE")]
    assert deleted == f"DELETE {RINGS_FOREVER} call"
    assert plivo.log.index(deleted) < plivo.log.index(f"POST {ANSWERS}")  # never two at once
    step = report["calls"][0]["answers"][0]
    assert (step["answered"], step["hung_up"], step["call_state"]) == (False, True, "CANCEL")


def test_each_step_is_noted_as_it_ends(tmp_path: Path, plivo: PlivoFake):
    _chain(tmp_path, BUSY, ANSWERS)
    result, _, _ = _run(tmp_path, plivo.url, "--no-progress")
    notes = [line for line in result.stderr.splitlines() if "escalation" in line]
    assert [n.split(": ", 2)[1:] for n in notes] == [
        [
            f"escalation {tmp_path / 'chain.yaml'}:3, step 1 of 2 'page[1]'",
            "not answered (BUSY, Busy Line, source Callee), 0 s",
        ],
        [
            f"escalation {tmp_path / 'chain.yaml'}:3, step 2 of 2 'page[2]'",
            "answered (ANSWER, End Of XML Instructions, source Plivo), 31 s",
        ],
    ]


def test_a_roster_escalates_row_by_row(tmp_path: Path, plivo: PlivoFake):
    (tmp_path / "oncall.csv").write_text(
        f"name,phone\nalice,{NO_ANSWER}\nbob,{ANSWERS}\ncarol,{BUSY}\n"
    )
    (tmp_path / "chain.yaml").write_text(
        "version: 1\n"
        "calls:\n"
        '  - name: "page-{{ row.name }}"\n'
        "    each: oncall.csv\n"
        '    to: "{{ row.phone }}"\n'
        '    from: "+14155550100"\n'
        "    answer_url: https://example.com/answer.xml\n"
        "    escalate: {answer_within: 45}\n"
    )
    result, report, _ = _run(tmp_path, plivo.url)
    assert result.exit_code == ExitCode.OK, result.output
    assert plivo.posts() == [NO_ANSWER, ANSWERS]
    assert [c["name"] for c in report["calls"]] == ["page-alice", "page-bob", "page-carol"]
    assert report["calls"][2]["reason"] == "escalation stopped: answered by 'page-bob', row 2"


def test_step_summary_tells_how_the_chain_ended(tmp_path: Path, plivo: PlivoFake):
    _chain(tmp_path, NO_ANSWER, ANSWERS)
    summary = tmp_path / "summary.md"
    report = tmp_path / "report.json"
    args = [
        "run",
        str(tmp_path / "chain.yaml"),
        "--api-url",
        plivo.url,
        "--report",
        str(report),
        "--poll-interval",
        "0.01",
        "--read-rate",
        "500",
    ]
    result = invoke(args, cred_env(GITHUB_STEP_SUMMARY=str(summary)))
    assert result.exit_code == ExitCode.OK, result.output
    text = summary.read_text()
    assert "| call | outcome | status | request_uuid | answered | time (ms) |" in text
    assert "chain.yaml:3: answered by 'page\\[2\\]' at 2026-11-27 02:00:05 UTC, row 2" in text
    assert "chain.yaml:page\\[1\\]: not answered (NOANSWER, No Answer, source Callee)" in text


def test_html_page_shows_each_steps_answer(tmp_path: Path, plivo: PlivoFake):
    _chain(tmp_path, NO_ANSWER, ANSWERS, BUSY)
    result, _, _ = _run(tmp_path, plivo.url, "--html", str(tmp_path / "page.html"))
    assert result.exit_code == ExitCode.OK, result.output
    page = (tmp_path / "page.html").read_text()
    assert "step 2 of 3 (until answered, 45 s)" in page
    assert f"<div>{NO_ANSWER}: not answered, NOANSWER, No Answer (Callee), 0 s</div>" in page
    assert (
        f"<div>{ANSWERS}: answered at 2026-11-27 02:00:05+00:00, ANSWER, End Of XML "
        "Instructions (Plivo), 31 s</div>" in page
    )


# -- a step whose fate is not known holds the chain -----------------------------------------

A, B, C, D = "+14155550101", "+14155550102", "+14155550103", "+14155550109"


def test_an_unknown_send_does_not_ring_the_next(tmp_path: Path) -> None:
    _chain(tmp_path, A, B, C)

    def fail_first(to: str, n: int) -> Reply | None:
        return (500, {"error": "internal"}) if n == 0 else None

    with plivo_fake({A: answers(), B: answers(), C: answers()}, fail_first) as fake:
        result, _, _ = _run(tmp_path, fake.url, "--retries", "0")
    assert "the call may have been placed" in result.stdout
    assert fake.posts() == [A]  # A may be ringing (or talking): B must not be paged with it


def test_a_fired_step_without_uuid_does_not_ring_the_next(tmp_path: Path) -> None:
    _chain(tmp_path, A, B, C)

    def no_uuid(to: str, n: int) -> Reply | None:
        return (201, {"api_id": "a", "message": "call fired"}) if n == 0 else None

    with plivo_fake({A: answers(), B: answers(), C: answers()}, no_uuid) as fake:
        result, _, _ = _run(tmp_path, fake.url)
    assert fake.posts() == [A]
    assert result.exit_code == ExitCode.CALL_FAILED


def test_plain_calls_are_followed_while_a_chain_runs(tmp_path: Path) -> None:
    spec = tmp_path / "chain.yaml"
    spec.write_text(
        "version: 1\ncalls:\n"
        f'  - name: plain\n    to: "{D}"\n    from: "+14155550100"\n'
        "    answer_url: https://example.com/answer.xml\n"
        "  - name: page\n"
        f"    to: {json.dumps([A, B])}\n"
        '    from: "+14155550100"\n    answer_url: https://example.com/answer.xml\n'
        "    escalate: {answer_within: 5}\n"
    )
    with plivo_fake({B: answers(), D: answers()}) as fake:

        def rings_until_the_plain_call_ended(method: str, leg: Leg, status: str | None) -> Reply:
            """A rings until the plain call's record was read, then answers."""
            if f"GET {D} record" not in fake.log and status == "live":
                return live(leg, "ringing")
            return answered(method, leg, status)

        answered = answers()
        fake.stories[A] = rings_until_the_plain_call_ended
        result, report, _ = _run(tmp_path, fake.url, "--wait", "30")
        assert sorted(fake.posts()) == sorted([A, D])
    plain = next(c for c in report["calls"] if c["name"] == "plain")
    assert plain["answers"][0]["answered"] is True, result.stdout


def test_every_read_of_every_chain_books_the_one_read_limiter(tmp_path: Path) -> None:
    spec = tmp_path / "chain.yaml"
    entry = (
        "  - name: {name}\n    to: {to}\n"
        '    from: "+14155550100"\n    answer_url: https://example.com/answer.xml\n'
        "    escalate: {{answer_within: 5}}\n"
    )
    spec.write_text(
        "version: 1\ncalls:\n"
        + entry.format(name="one", to=json.dumps([A, B]))
        + entry.format(name="two", to=json.dumps([C, D]))
    )

    class Counted(RateLimiter):
        booked = 0

        def acquire(self, stop: threading.Event) -> bool:
            Counted.booked += 1
            return super().acquire(stop)

    stories = {A: answers(), B: answers(), C: answers(), D: answers()}
    with plivo_fake(stories) as fake:
        plan = build_plan([spec], PlanOptions(cwd=tmp_path), {})
        options = RunOptions(
            api_url=fake.url,
            credentials=Credentials(AUTH_ID, TOKEN),
            rate=200,
            follow=WaitOptions(30, interval=0.01, read_rate=1000),
        )
        runner = Runner(plan, options, {}, Redactor())
        runner.read_limiter = Counted(1000)
        assert runner.run().exit_code() == ExitCode.OK
        assert sorted(fake.posts()) == [A, C]
        assert Counted.booked == len(fake.paths) > 0  # both chains' reads, one limiter


def test_a_step_whose_reads_keep_failing_is_unknown_and_stops_the_chain(tmp_path: Path) -> None:
    spec = _chain(tmp_path, A, B, within=5)
    failures: list[Reply] = [(500, {"error": "internal"}), (200, {"odd": "garbage"}), NOT_FOUND]

    def unreadable(method: str, leg: Leg, status: str | None) -> Reply:
        """Every read fails, in turn a 500, a 200 naming no call, a 404; no hangup lands."""
        return failures[leg.reads % len(failures)] if method == "GET" else (500, None)

    with plivo_fake({A: unreadable, B: answers()}) as fake:
        plan = build_plan([spec], PlanOptions(cwd=tmp_path), {})
        options = RunOptions(
            api_url=fake.url,
            credentials=Credentials(AUTH_ID, TOKEN),
            rate=200,
            follow=WaitOptions(5, interval=0.5, read_rate=1000),
        )
        runner = Runner(plan, options, {}, Redactor())
        # The step's whole wait (answer_within + 30 s) passes at 50 times the real pace.
        start = time.monotonic()
        runner.follow_clock = lambda: start + (time.monotonic() - start) * 50
        result = runner.run()
        assert fake.posts() == [A]  # nothing said A's call ended: B is never paged with it
    first, second = result.calls
    assert (first.answers[0].answered, first.answers[0].state) == (None, "unknown")
    assert first.answers[0].read_errors > 1  # read again, in vain, until its wait ran out
    assert second.outcome == "skipped"
    assert (second.reason or "").startswith(
        "escalation stopped: step 'page[1]' may still be ringing: its state is unknown"
    )
    assert result.exit_code() == ExitCode.CALL_FAILED
