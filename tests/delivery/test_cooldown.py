"""``cooldown:`` against the sandbox: Plivo's own lists (live calls, queued calls, detail
records filtered by ``to_number``, ``from_number`` and ``end_time``) say whether this
destination was just called from this caller ID by another run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from support import (
    AUTH_ID,
    TOKEN,
    answering,
    cred_env,
    early_in_a_second,
    invoke,
    read_report,
    sandbox,
)

from callspec.errors import ExitCode
from callspec.sandbox.outcomes import SimulationConfig, parse_answer_by
from callspec.sandbox.server import Sandbox, SandboxConfig

ANA, BEN = "+14155550101", "+14155550102"
FAST = ["--poll-interval", "0.05", "--read-rate", "500", "--no-progress"]


@pytest.fixture
def hooks() -> Iterator[str]:
    def speak(handler: Any, n: int) -> tuple[int, dict[str, str], bytes]:
        return 200, {"Content-Type": "application/xml"}, b"<Response><Speak>hi</Speak></Response>"

    with answering(speak) as (url, _):
        yield url


@pytest.fixture
def box() -> Iterator[Sandbox]:
    simulate = SimulationConfig(duration_s=0.2, connect_timeout_s=5.0, read_timeout_s=10.0)
    started = Sandbox(SandboxConfig(auth_id=AUTH_ID, auth_token=TOKEN, simulate=simulate))
    yield started.start()
    started.stop()


def _spec(folder: Path, hooks: str, *extra: str, to: str = f'"{ANA}"') -> Path:
    spec = folder / "page.yaml"
    lines = [
        "version: 1",
        "calls:",
        "  - name: page",
        '    from: "+14155550100"',
        f"    to: {to}",
        f"    answer_url: {hooks}/page.xml",
        "    cooldown: 600",
        *extra,
    ]
    spec.write_text("\n".join(lines) + "\n")
    return spec


def _run(spec: Path, url: str, name: str) -> tuple[Any, dict[str, Any]]:
    report = spec.parent / f"{name}.json"
    args = ["run", spec, "--api-url", url, "--report", report, "--wait", "30", *FAST]
    result = invoke([str(a) for a in args], cred_env())
    return result, read_report(report)


def _rung(box: Sandbox) -> list[str]:
    return [record["body"]["to"] for record in box.calls if record.get("placed")]


def test_a_destination_another_run_just_called_is_skipped(
    tmp_path: Path, hooks: str, box: Sandbox
) -> None:
    spec = _spec(tmp_path, hooks)
    first, _ = _run(spec, box.url, "first")
    assert first.exit_code == ExitCode.OK, first.output
    again, report = _run(spec, box.url, "again")  # a re-run of the job, or another runner
    assert again.exit_code == ExitCode.OK, again.output
    assert _rung(box) == [ANA]  # once
    [call] = report["calls"]
    assert (call["outcome"], call["skip_kind"]) == ("skipped", "cooldown")
    assert call["cooldown"] == {"seconds": 600, "unchecked": None}
    assert call["reason"].startswith("cooldown: Plivo shows a call (")
    assert call["reason"].endswith(
        "to this destination from this caller ID within the last 600 s, placed by another run; "
        "not called again"
    )


def test_another_destination_or_caller_id_is_called(
    tmp_path: Path, hooks: str, box: Sandbox
) -> None:
    spec = _spec(tmp_path, hooks)
    assert _run(spec, box.url, "first")[0].exit_code == ExitCode.OK
    other = _spec(tmp_path, hooks, to=f'"{BEN}"')
    assert _run(other, box.url, "other")[0].exit_code == ExitCode.OK
    assert _rung(box) == [ANA, BEN]


def test_a_chain_s_own_rounds_are_not_cooled_down(tmp_path: Path, hooks: str) -> None:
    spec = _spec(
        tmp_path,
        hooks,
        "    escalate: {until: human, answer_within: 30}",
        "    machine_detection: hangup",
        "    repeat: {times: 1, after: 1}",
        to=f'["{ANA}", "{BEN}"]',
    )
    # Every callee's voicemail answers: nobody is reached, and round 2 pages both again.
    machines = SimulationConfig(
        duration_s=0.2,
        answer_by=tuple(parse_answer_by(f"{n}=machine") for n in (ANA, BEN)),
        connect_timeout_s=5.0,
    )
    voicemail = Sandbox(SandboxConfig(auth_id=AUTH_ID, auth_token=TOKEN, simulate=machines))
    voicemail.start()
    try:
        result, report = _run(spec, voicemail.url, "rounds")
        assert result.exit_code == ExitCode.CALL_FAILED, result.output
        assert _rung(voicemail) == [ANA, BEN, ANA, BEN]
        assert [c["outcome"] for c in report["calls"]] == ["fired"] * 4
    finally:
        voicemail.stop()


def test_lists_that_cannot_be_read_leave_the_call_placed(tmp_path: Path, hooks: str) -> None:
    plain = sandbox()  # no --simulate: it lists no calls (404), as a refusing API would
    try:
        spec = _spec(tmp_path, hooks)
        report = tmp_path / "r.json"
        html = tmp_path / "r.html"
        args = ["run", spec, "--api-url", plain.url, "--report", report, "--no-progress"]
        result = invoke([str(a) for a in [*args, "--html", html]], cred_env())
        assert result.exit_code == ExitCode.OK, result.output
        assert _rung(plain) == [ANA]
        unread = (
            "cooldown: Plivo's calls could not be read (HTTP 404: not found (the sandbox "
            "lists calls with --simulate)); placed: skipping a page needs a record of the "
            "other call"
        )
        assert f"page: {unread}" in result.stderr
        # The report says it too, beside the call (and its page): not only a passing line.
        [call] = read_report(report)["calls"]
        assert call["cooldown"] == {"seconds": 600, "unchecked": unread}
        shown = unread.replace("'", "&#39;")  # as the page escapes it
        assert f'<p class="stop">{shown}</p>' in html.read_text()
    finally:
        plain.stop()


def _long(**config: Any) -> Sandbox:
    """A sandbox whose calls last two minutes: another run's call is still going on."""
    simulate = SimulationConfig(
        duration_s=120, connect_timeout_s=5.0, read_timeout_s=10.0, **config.pop("simulate", {})
    )
    return Sandbox(SandboxConfig(auth_id=AUTH_ID, auth_token=TOKEN, simulate=simulate, **config))


def _place(spec: Path, url: str) -> None:
    """Another run places the spec's calls and leaves them going (no --wait)."""
    args = ["run", spec, "--api-url", url, "--concurrency", "1", "--rate", "100", "--no-progress"]
    result = invoke([str(a) for a in args], cred_env())
    assert result.exit_code == ExitCode.OK, result.output


def _listed(box: Sandbox, status: str, to: str) -> list[str]:
    """Plivo's list of ``status`` calls to ``to``, as cooldown reads it."""
    query = {"status": status, "to_number": to.lstrip("+")}
    answer = requests.get(
        f"{box.url}/v1/Account/{AUTH_ID}/Call/", params=query, auth=(AUTH_ID, TOKEN), timeout=30
    )
    assert answer.status_code == 200, answer.text
    return [str(u) for u in answer.json()["calls"]]


def test_a_destination_another_run_is_still_calling_is_skipped(tmp_path: Path, hooks: str) -> None:
    box = _long().start()
    try:
        other = tmp_path / "other"
        other.mkdir()
        _place(_spec(other, hooks), box.url)  # its call rings (or talks) for two minutes
        (live,) = _listed(box, "live", ANA)
        result, report = _run(_spec(tmp_path, hooks), box.url, "again")
        assert result.exit_code == ExitCode.OK, result.output
        assert _rung(box) == [ANA]  # once
        [call] = report["calls"]
        assert (call["outcome"], call["skip_kind"]) == ("skipped", "cooldown")
        assert call["reason"].startswith(f"cooldown: Plivo shows a live call ({live}) ")
    finally:
        box.stop()


def test_a_destination_another_run_has_queued_is_skipped(tmp_path: Path, hooks: str) -> None:
    # One call a second, one call played at a time: ben's call takes the only player for
    # two minutes, and ana's, over the second's limit, waits in Plivo's queue meanwhile.
    box = _long(cps=1, simulate={"workers": 1}).start()
    try:
        other = tmp_path / "other"
        other.mkdir()
        spec = other / "page.yaml"
        spec.write_text(
            "version: 1\n"
            "calls:\n"
            + "".join(
                f'  - name: {name}\n    from: "+14155550100"\n    to: "{to}"\n'
                f"    answer_url: {hooks}/page.xml\n"
                for name, to in (("ben", BEN), ("ana", ANA))
            )
        )
        early_in_a_second()
        _place(spec, box.url)
        (queued,) = _listed(box, "queued", ANA)  # (both in one second: else this fails)
        result, report = _run(_spec(tmp_path, hooks), box.url, "again")
        assert result.exit_code == ExitCode.OK, result.output
        assert _rung(box) == [BEN, ANA]  # ana once
        [call] = report["calls"]
        assert (call["outcome"], call["skip_kind"]) == ("skipped", "cooldown")
        assert call["reason"].startswith(f"cooldown: Plivo shows a queued call ({queued}) ")
    finally:
        box.stop()
