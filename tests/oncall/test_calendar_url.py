"""``each: {ical: URL}``: a calendar fetched through callspec's network layer, once per run,
bounded in size and time, every failure located at the spec's ``ical:``; and only by a run
that sends (or when asked): validate in a pull request requests nothing."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from oncall_team import ANA, BEN
from support import TOKEN, answering, cred_env, free_port, invoke, raw_server, read_report

from callspec.errors import ExitCode, SpecError
from callspec.oncall.feed import MAX_FEED_BYTES
from callspec.oncall.times import parse_instant
from callspec.spec.model import PlanOptions
from callspec.spec.plan import build_plan

AT = "2026-12-08T00:00:00Z"
CALENDAR = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
    "BEGIN:VEVENT\r\nUID:ana@test\r\nDTSTAMP:20261201T000000Z\r\n"
    "DTSTART:20261207T140000Z\r\nDTEND:20261214T140000Z\r\n"
    f"ATTENDEE;CN=ana:tel:{ANA}\r\nCATEGORIES:primary\r\nEND:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:ben@test\r\nDTSTAMP:20261201T000000Z\r\n"
    "DTSTART:20261207T140000Z\r\nDTEND:20261214T140000Z\r\n"
    f"ATTENDEE;CN=ben:tel:{BEN}\r\nCATEGORIES:secondary\r\nEND:VEVENT\r\n"
    "END:VCALENDAR\r\n"
).encode()


def _page(folder: Path, url: str) -> Path:
    """page.yaml: two calls that read one calendar URL (one layer each)."""
    call = (
        '  - name: "{layer}-{{{{ row.name }}}}"\n'
        '    each: {{ical: "{url}", layers: [{layer}]}}\n'
        '    from: "+14152224444"\n    to: "{{{{ row.phone }}}}"\n'
        "    answer_url: https://hooks.example.com/a.xml\n"
    )
    spec = folder / "page.yaml"
    spec.write_text(
        "version: 1\ncalls:\n"
        + call.format(layer="primary", url=url)
        + call.format(layer="secondary", url=url)
    )
    return spec


@pytest.fixture
def feed() -> Iterator[tuple[str, list[str]]]:
    """The team's calendar served on 127.0.0.1: (its URL, the requests it got)."""

    def calendar(handler: BaseHTTPRequestHandler, n: int) -> tuple[int, dict[str, str], bytes]:
        return 200, {"Content-Type": "text/calendar; charset=utf-8"}, CALENDAR

    with answering(calendar) as (url, log):
        yield f"{url}/team.ics", log


def test_a_sandbox_run_pages_who_the_calendar_url_has_on_call_fetching_it_once(
    tmp_path: Path, feed: tuple[str, list[str]]
):
    url, requests = feed
    report = tmp_path / "report.json"
    args = ["run", str(_page(tmp_path, url)), "--sandbox", "--at", AT, "--report", str(report)]
    result = invoke([*args, "--no-progress"])
    assert result.exit_code == ExitCode.OK, result.stderr
    calls = read_report(report)["calls"]
    assert [(c["name"], c["body"]["to"], c["outcome"]) for c in calls] == [
        ("primary-ana", ANA, "fired"),
        ("secondary-ben", BEN, "fired"),
    ]
    assert requests == ["/team.ics "]  # two calls, one request, and no credentials sent


def test_validate_does_not_fetch_a_calendar_url_unless_asked(
    tmp_path: Path, feed: tuple[str, list[str]]
):
    url, requests = feed
    spec = _page(tmp_path, url)
    result = invoke(["validate", str(spec), "--at", AT])
    assert requests == []
    assert result.exit_code == ExitCode.OK
    warning = (
        "calls[{i}].each.ical: the calendar URL is not fetched, so this call is not expanded "
        "or checked: only a run that sends (run, run --sandbox) fetches calendars; validate, "
        "render, explain, check and run --dry-run request nothing a spec names unless given "
        "--fetch-calendars"
    )
    assert result.stderr.replace(str(tmp_path) + "/", "").splitlines() == [
        f"page.yaml:4:18: warning: {warning.format(i=0)}",
        f"page.yaml:9:18: warning: {warning.format(i=1)}",
    ]
    asked = invoke(["validate", str(spec), "--at", AT, "--fetch-calendars"])
    assert (asked.exit_code, asked.stdout) == (ExitCode.OK, "OK: 2 calls in 1 file valid\n")
    assert asked.stderr == ""
    assert requests == ["/team.ics "]


def _problems(folder: Path, url: str, timeout: float = 5.0) -> list[str]:
    """What building the plan with calendars fetched says (the env holds the auth token)."""
    options = PlanOptions(
        at=parse_instant(AT), fetch_calendars=True, calendar_timeout=timeout, cwd=folder
    )
    with pytest.raises(SpecError) as e:
        build_plan([_page(folder, url)], options, cred_env())
    return [str(p).replace(str(folder) + "/", "") for p in e.value.problems]


def test_an_unreachable_calendar_is_located_at_the_call(tmp_path: Path):
    url = f"http://127.0.0.1:{free_port()}/team.ics"
    # Said once, where the run first needed it: the second call is not tried again.
    assert _problems(tmp_path, url) == [
        f"page.yaml:4:18: calls[0].each.ical: the calendar at {url} could not be read: "
        "unreachable: connection refused",
    ]


def test_an_answer_that_is_not_2xx_is_said_as_outside_text(tmp_path: Path):
    def missing(handler: BaseHTTPRequestHandler, n: int) -> tuple[int, dict[str, str], bytes]:
        return 404, {"Content-Type": "text/plain"}, f"no calendar for {TOKEN}\x1b[2J".encode()

    with answering(missing) as (base, requests):
        problems = _problems(tmp_path, f"{base}/team.ics")
    assert problems[0] == (
        f"page.yaml:4:18: calls[0].each.ical: the calendar at {base}/team.ics answered "
        "HTTP 404: no calendar for ***\\x1b[2J"
    )
    assert len(requests) == 1  # the second call is told the same without a second request


def test_an_answer_that_is_not_a_calendar_is_refused(tmp_path: Path):
    def sign_in(handler: BaseHTTPRequestHandler, n: int) -> tuple[int, dict[str, str], bytes]:
        return 200, {"Content-Type": "text/html"}, b"<html><body>Sign in</body></html>"

    with answering(sign_in) as (base, _):
        problems = _problems(tmp_path, f"{base}/team.ics")
    assert problems[0] == (
        f"page.yaml:4:18: calls[0].each.ical: the calendar at {base}/team.ics is not an "
        "iCalendar feed (text/html, beginning '<html><body>Sign in</body></html>'): give the "
        "calendar's iCalendar (.ics) address"
    )


def test_a_calendar_over_the_size_limit_is_not_read_past_it(tmp_path: Path):
    big = b"BEGIN:VCALENDAR\r\n" + b"X-FILLER:" + b"x" * MAX_FEED_BYTES + b"\r\n"

    def huge(handler: BaseHTTPRequestHandler, n: int) -> tuple[int, dict[str, str], bytes]:
        return 200, {"Content-Type": "text/calendar"}, big

    with answering(huge) as (base, _):
        problems = _problems(tmp_path, f"{base}/team.ics")
    assert problems[0] == (
        f"page.yaml:4:18: calls[0].each.ical: the calendar at {base}/team.ics could not be "
        "read: the body is over the 8 MiB limit for a calendar (8,388,608 bytes)"
    )


def test_a_calendar_that_trickles_is_cut_at_its_deadline(tmp_path: Path):
    def trickle(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/calendar\r\n")
        stop.wait()  # the rest of the head never comes

    with raw_server(trickle) as (base, _):
        problems = _problems(tmp_path, f"{base}/team.ics", timeout=0.3)
    assert problems[0] == (
        f"page.yaml:4:18: calls[0].each.ical: the calendar at {base}/team.ics could not be "
        "read: no answer within 0.3 s"
    )
