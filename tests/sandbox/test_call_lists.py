"""``--simulate`` lists calls as Plivo does: live, queued, and detail records with filters."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests
from simulation_plugin import AUTH_ID, FAST, GOOD_XML, TOKEN, Handler, Start, call_body, place
from support import wait_until

from callspec.sandbox.outcomes import SimulationConfig, parse_answer_by
from callspec.sandbox.server import Sandbox

pytestmark = pytest.mark.timeout(30)

ANA, BEN, CLEO = "+14155550100", "+14155550101", "+14155550102"
OTHER_CALLER = "+14159990000"


def listing(box: Sandbox, **query: Any) -> requests.Response:
    return requests.get(
        f"{box.url}/v1/Account/{AUTH_ID}/Call/", params=query, auth=(AUTH_ID, TOKEN), timeout=5
    )


def utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


@pytest.fixture
def finished(start: Start, handler: Handler) -> tuple[Sandbox, dict[str, str]]:
    """Four finished calls: ana answered (twice, once from another caller), ben busy, cleo."""
    handler.routes["/answer"] = (200, GOOD_XML)
    script = tuple(parse_answer_by(a) for a in (f"{BEN}=busy",))
    box = start(SimulationConfig(duration_s=FAST.duration_s, answer_by=script))
    uuids = {
        "ana": place(box, **call_body(handler, ANA))[0],
        "ana-other": place(box, **call_body(handler, ANA, **{"from": OTHER_CALLER}))[0],
        "ben": place(box, **call_body(handler, BEN))[0],
        "cleo": place(box, **call_body(handler, CLEO))[0],
    }
    assert box.wait_for_calls(10)
    return box, uuids


def test_detail_records_filtered_by_destination_and_caller(
    finished: tuple[Sandbox, dict[str, str]],
) -> None:
    box, uuids = finished
    answer = listing(box, to_number=ANA, from_number="+14152224444")
    assert answer.status_code == 200
    body = answer.json()
    assert [o["call_uuid"] for o in body["objects"]] == [uuids["ana"]]
    assert body["meta"] == {"count": 1, "limit": 20, "offset": 0, "next": None, "previous": None}
    # "the exact number or the prefix", with or without the +
    by_prefix = listing(box, to_number="1415555010").json()["objects"]
    assert {o["call_uuid"] for o in by_prefix} == set(uuids.values())


def test_detail_records_filtered_by_end_time(finished: tuple[Sandbox, dict[str, str]]) -> None:
    box, uuids = finished
    now = datetime.now(timezone.utc)
    earlier = utc(now - timedelta(minutes=10))
    later = utc(now + timedelta(minutes=10))
    assert len(listing(box, end_time__gt=earlier).json()["objects"]) == 4
    assert listing(box, end_time__gt=later).json()["objects"] == []
    within = listing(box, to_number=CLEO, end_time__gte=earlier, end_time__lte=later).json()
    assert [o["call_uuid"] for o in within["objects"]] == [uuids["cleo"]]


def test_detail_records_filtered_by_hangup_cause(finished: tuple[Sandbox, dict[str, str]]) -> None:
    box, uuids = finished
    busy = listing(box, hangup_cause_code="3010", hangup_source="Callee").json()["objects"]
    assert [o["call_uuid"] for o in busy] == [uuids["ben"]]


def test_detail_records_page_newest_first(finished: tuple[Sandbox, dict[str, str]]) -> None:
    box, _ = finished
    first = listing(box, limit=3).json()
    assert len(first["objects"]) == 3 and first["meta"]["count"] == 4
    assert first["meta"]["next"] == f"/v1/Account/{AUTH_ID}/Call/?limit=3&offset=3"
    ends = [o["end_time"] for o in first["objects"]]
    assert ends == sorted(ends, reverse=True)
    rest = listing(box, limit=3, offset=3).json()
    assert len(rest["objects"]) == 1 and rest["meta"]["next"] is None
    assert rest["meta"]["previous"] == f"/v1/Account/{AUTH_ID}/Call/?limit=3&offset=0"
    assert listing(box, status="queued").json()["calls"] == []


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ({"limit": "21"}, "limit must be from 1 to 20"),
        ({"offset": "-1"}, "offset must be a whole number"),
        ({"end_time__gt": "yesterday"}, "end_time__gt must be a UTC time"),
        ({"status": "done"}, "status must be live or queued"),
        ({"call_direction": "sideways"}, "call_direction must be inbound or outbound"),
    ],
)
def test_a_malformed_filter_is_400(start: Start, query: dict[str, str], error: str) -> None:
    answer = listing(start(), **query)
    assert answer.status_code == 400
    assert answer.json()["error"].startswith(error)


def test_live_calls_listed_by_destination_until_hung_up(start: Start, handler: Handler) -> None:
    handler.routes["/answer"] = (200, GOOD_XML)
    box = start(SimulationConfig(duration_s=30))
    (uuid,) = place(box, **call_body(handler, ANA))
    wait_until(  # the call is played on a worker
        lambda: listing(box, status="live", to_number=ANA).json()["calls"] == [uuid],
        "the call to ring",
    )
    assert listing(box, status="live", to_number=BEN).json()["calls"] == []
    assert listing(box, status="live", call_direction="inbound").json()["calls"] == []
    assert listing(box, to_number=ANA).json()["objects"] == []  # not finished: no record
    hung_up = requests.delete(
        f"{box.url}/v1/Account/{AUTH_ID}/Call/{uuid}/", auth=(AUTH_ID, TOKEN), timeout=5
    )
    assert hung_up.status_code == 204
    assert box.wait_for_calls(10)
    assert listing(box, status="live").json()["calls"] == []
    assert [o["call_uuid"] for o in listing(box, to_number=ANA).json()["objects"]] == [uuid]


def test_the_sdk_lists_detail_records(
    finished: tuple[Sandbox, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    plivo = pytest.importorskip("plivo")
    import plivo.rest.client as rest

    box, uuids = finished
    for name in ("PLIVO_API_BASE_URI", "API_VOICE_BASE_URI"):
        monkeypatch.setattr(rest, name, f"{box.url}/v1/Account")
    client = plivo.RestClient(AUTH_ID, TOKEN)
    earlier = utc(datetime.now(timezone.utc) - timedelta(minutes=10))
    found = client.calls.list(to_number=BEN, end_time__gt=earlier)
    assert [call.call_uuid for call in found] == [uuids["ben"]]
    live = client.live_calls.list_ids(to_number=ANA)
    assert live["calls"] == []
