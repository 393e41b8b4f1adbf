"""``--simulate``: calls played as Plivo would, against a handler server on 127.0.0.1."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import requests
from misbehaving import bad_location, trickle_body
from simulation_plugin import (
    AUTH_ID,
    FAST,
    GOOD_XML,
    TOKEN,
    Handler,
    Start,
    call_body,
    place,
    state,
)
from support import early_in_a_second, raw_server, wait_until

from callspec.sandbox.calls import ANSWER_URL_ERROR
from callspec.sandbox.outcomes import SimulationConfig, parse_answer_by, parse_share

pytestmark = pytest.mark.timeout(30)


def test_ring_answer_hangup_in_order_with_one_call_uuid(start: Start, handler: Handler) -> None:
    handler.routes["/answer"] = (200, GOOD_XML)
    box = start()
    (uuid,) = place(box, **call_body(handler, sip_headers="Team=db"))
    assert box.wait_for_calls(10)
    assert handler.paths() == ["/ring", "/answer", "/hangup"]
    ring, answer, hangup = handler.requests
    for request in handler.requests:
        assert request["method"] == "POST"
        assert request["params"]["CallUUID"] == uuid
        assert request["params"]["RequestUUID"] == uuid
        assert request["params"]["To"] == "+14155550100"
        assert request["params"]["X-PH-Team"] == "db"
    assert ring["params"]["Event"] == "Ring" and ring["params"]["CallStatus"] == "ringing"
    assert answer["params"]["Event"] == "StartApp"
    assert answer["params"]["CallStatus"] == "in-progress"
    params = hangup["params"]
    assert params["Event"] == "Hangup" and params["CallStatus"] == "completed"
    assert params["HangupCauseName"] == "End Of XML Instructions"
    assert params["HangupCauseCode"] == "4010" and params["HangupSource"] == "Plivo"
    assert params["AnswerTime"] and params["EndTime"] and "Machine" not in params


def test_callbacks_carry_signatures_the_sdk_accepts(start: Start, handler: Handler) -> None:
    signature = pytest.importorskip("plivo.utils.signature_v3")
    from plivo.utils import validate_signature

    handler.routes["/answer"] = (200, GOOD_XML)
    box = start()
    place(box, **call_body(handler))
    assert box.wait_for_calls(10)
    for request in handler.requests:
        headers, url = request["headers"], request["url"]
        assert validate_signature(
            url, headers["X-Plivo-Signature-V2-Nonce"], headers["X-Plivo-Signature-V2"], TOKEN
        )
        assert signature.validate_v3_signature(
            "POST",
            url,
            headers["X-Plivo-Signature-V3-Nonce"],
            TOKEN,
            headers["X-Plivo-Signature-V3"],
            request["params"],
        )
        assert not signature.validate_v3_signature(
            "POST",
            url,
            headers["X-Plivo-Signature-V3-Nonce"],
            "wrong-token",
            headers["X-Plivo-Signature-V3"],
            request["params"],
        )


def test_get_methods_send_query_parameters(start: Start, handler: Handler) -> None:
    handler.routes["/answer"] = (200, GOOD_XML)
    box = start()
    (uuid,) = place(box, **call_body(handler, answer_method="GET", hangup_method="GET"))
    assert box.wait_for_calls(10)
    answer, hangup = handler.received("/answer")[0], handler.received("/hangup")[0]
    assert answer["method"] == "GET" and answer["params"]["CallUUID"] == uuid
    assert hangup["method"] == "GET" and hangup["params"]["Event"] == "Hangup"


def test_invalid_xml_ends_the_call_as_plivo_does(start: Start, handler: Handler) -> None:
    handler.routes["/answer"] = (200, b"<Response><Speek>typo</Speek></Response>")
    box = start()
    (uuid,) = place(box, **call_body(handler))
    assert box.wait_for_calls(10)
    params = handler.received("/hangup")[0]["params"]
    assert params["HangupCauseName"] == "Invalid Answer XML"
    assert params["HangupCauseCode"] == "8011" and params["HangupSource"] == "Error"
    record = state(box, uuid).json()
    assert record["hangup_cause_name"] == "Invalid Answer XML"
    steps = [r for r in box.calls if r.get("simulated") == "answer-xml"]
    assert steps and "Speek" in steps[0]["note"]


def test_fallback_url_used_when_answer_url_fails(start: Start, handler: Handler) -> None:
    handler.routes["/answer"] = (500, b"oops")
    handler.routes["/fallback"] = (200, GOOD_XML)
    box = start()
    place(box, **call_body(handler, fallback_url=f"{handler.url}/fallback"))
    assert box.wait_for_calls(10)
    assert handler.paths() == ["/ring", "/answer", "/fallback", "/hangup"]
    assert handler.received("/hangup")[0]["params"]["HangupCauseCode"] == "4010"
    answer = next(r for r in box.calls if r.get("simulated") == "answer")
    assert answer["status"] == 500 and answer["note"] == "HTTP 500"


def test_unreachable_answer_url_without_fallback(start: Start, handler: Handler) -> None:
    handler.routes["/answer"] = (404, b"no such page")
    box = start()
    place(box, **call_body(handler))
    assert box.wait_for_calls(10)
    params = handler.received("/hangup")[0]["params"]
    assert (params["HangupCauseName"], params["HangupCauseCode"]) == (
        "Error Reaching Answer URL",
        "7011",
    )


def test_redirect_followed(start: Start, handler: Handler) -> None:
    # Plivo wants an absolute URL in <Redirect>.
    target = f"<Response><Redirect>{handler.url}/next</Redirect></Response>".encode()
    handler.routes["/answer"] = (200, target)
    handler.routes["/next"] = (200, b"<Response><Speak>hi</Speak><Hangup/></Response>")
    box = start()
    (uuid,) = place(box, **call_body(handler))
    assert box.wait_for_calls(10)
    assert handler.paths() == ["/ring", "/answer", "/next", "/hangup"]
    nxt = handler.received("/next")[0]
    assert nxt["params"]["CallUUID"] == uuid and nxt["params"]["Event"] == "Redirect"
    params = handler.received("/hangup")[0]["params"]
    assert (params["HangupCauseName"], params["HangupSource"]) == ("Normal Hangup", "Answer XML")


def test_redirect_loop_is_bounded(start: Start, handler: Handler) -> None:
    # Two documents redirecting to each other: no document shows the loop on its own.
    to_b = f"<Response><Redirect>{handler.url}/b</Redirect></Response>".encode()
    to_answer = f"<Response><Redirect>{handler.url}/answer</Redirect></Response>".encode()
    handler.routes["/answer"], handler.routes["/b"] = (200, to_b), (200, to_answer)
    box = start()
    place(box, **call_body(handler))
    assert box.wait_for_calls(10)
    fetched = len(handler.received("/answer")) + len(handler.received("/b"))
    assert fetched == 1 + FAST.max_redirects
    assert handler.received("/hangup")[0]["params"]["HangupCauseName"] == "Invalid Redirect XML"


def test_answer_by_scripts_who_answers(start: Start, handler: Handler) -> None:
    handler.routes["/answer"] = (200, GOOD_XML)
    script = (parse_answer_by("+14155550100=no-answer"), parse_answer_by("14155550101=human"))
    box = start(SimulationConfig(duration_s=0.05, answer_by=script))
    primary, secondary = place(box, **call_body(handler, to="+14155550100<+14155550101"))
    assert box.wait_for_calls(10)
    answered = [r["params"]["CallUUID"] for r in handler.received("/answer")]
    assert answered == [secondary]
    by_uuid = {r["params"]["CallUUID"]: r["params"] for r in handler.received("/hangup")}
    assert by_uuid[primary]["CallStatus"] == "no-answer"
    assert by_uuid[primary]["HangupCauseName"] == "No Answer"
    assert by_uuid[primary]["AnswerTime"] == ""
    assert by_uuid[secondary]["CallStatus"] == "completed"
    first, second = state(box, primary).json(), state(box, secondary).json()
    assert first["answer_time"] is None and first["call_state"] == "NOANSWER"
    assert second["answer_time"] is not None and second["call_duration"] >= 1


@pytest.mark.parametrize(
    ("outcome", "cause", "status"),
    [("busy", "Busy Line", "busy"), ("no-answer", "No Answer", "no-answer")],
)
def test_unanswered_calls_never_reach_answer_url(
    start: Start, handler: Handler, outcome: str, cause: str, status: str
) -> None:
    box = start(SimulationConfig(duration_s=0.05, shares=(parse_share(outcome),)))
    place(box, **call_body(handler))
    assert box.wait_for_calls(10)
    assert handler.received("/answer") == []
    params = handler.received("/hangup")[0]["params"]
    assert (params["HangupCauseName"], params["CallStatus"]) == (cause, status)


def test_machine_detection_reports_machine(start: Start, handler: Handler) -> None:
    handler.routes["/answer"] = (200, GOOD_XML)
    box = start(SimulationConfig(duration_s=0.05, shares=(parse_share("machine"),)))
    body = call_body(
        handler, machine_detection="hangup", machine_detection_url=f"{handler.url}/machine"
    )
    (uuid,) = place(box, **body)
    assert box.wait_for_calls(10)
    assert handler.received("/machine")[0]["params"]["Machine"] == "true"
    params = handler.received("/hangup")[0]["params"]
    assert params["Machine"] == "true" and params["HangupCauseName"] == "Machine Detected"
    assert state(box, uuid).json()["hangup_cause_code"] == 9100


def test_human_with_machine_detection_says_machine_false(start: Start, handler: Handler) -> None:
    handler.routes["/answer"] = (200, GOOD_XML)
    box = start()
    place(box, **call_body(handler, machine_detection="true"))
    assert box.wait_for_calls(10)
    params = handler.received("/hangup")[0]["params"]
    assert params["Machine"] == "false" and params["HangupCauseCode"] == "4010"


def test_call_state_before_during_after_and_hangup_api(start: Start, handler: Handler) -> None:
    handler.routes["/answer"] = (200, GOOD_XML)
    box = start(SimulationConfig(duration_s=30))
    missing = state(box, "00000000-0000-0000-0000-000000000000", "live")
    assert missing.status_code == 404 and set(missing.json()) == {"api_id", "error"}
    (uuid,) = place(box, **call_body(handler))

    def answered() -> bool:
        live = state(box, uuid, "live")
        return live.status_code == 200 and live.json()["call_status"] == "in-progress"

    wait_until(answered, "the call to be answered")
    deadline_live = state(box, uuid, "live").json()
    assert deadline_live["call_uuid"] == uuid == deadline_live["request_uuid"]
    assert deadline_live["direction"] == "outbound" and deadline_live["to"] == "+14155550100"
    assert state(box, uuid).status_code == 404  # no detail record while it is live
    assert state(box, uuid, "queued").status_code == 404
    hung = requests.delete(
        f"{box.url}/v1/Account/{AUTH_ID}/Call/{uuid}/", auth=(AUTH_ID, TOKEN), timeout=5
    )
    assert hung.status_code == 204 and hung.content == b""
    assert box.wait_for_calls(10)
    record = state(box, uuid).json()
    assert record["hangup_cause_name"] == "Normal Hangup"
    assert record["hangup_source"] == "API Request"
    assert record["call_uuid"] == uuid and record["call_state"] == "ANSWER"
    assert state(box, uuid, "live").status_code == 404
    again = requests.delete(
        f"{box.url}/v1/Account/{AUTH_ID}/Call/{uuid}/", auth=(AUTH_ID, TOKEN), timeout=5
    )
    assert again.status_code == 404


def test_hangup_api_while_ringing_cancels(start: Start, handler: Handler) -> None:
    box = start(SimulationConfig(duration_s=30, shares=(parse_share("no-answer"),)))
    (uuid,) = place(box, **call_body(handler))
    wait_until(lambda: state(box, uuid, "live").status_code == 200, "the call to ring")
    assert state(box, uuid, "live").json()["call_status"] == "ringing"
    requests.delete(
        f"{box.url}/v1/Account/{AUTH_ID}/Call/{uuid}/", auth=(AUTH_ID, TOKEN), timeout=5
    )
    assert box.wait_for_calls(10)
    record = state(box, uuid).json()
    assert (record["hangup_cause_name"], record["hangup_cause_code"]) == ("Canceled", 1000)
    assert record["answer_time"] is None


def test_call_state_needs_auth(start: Start) -> None:
    box = start()
    answer = requests.get(f"{box.url}/v1/Account/{AUTH_ID}/Call/x/", timeout=5)
    assert answer.status_code == 401


def test_sdk_reads_the_detail_record(
    start: Start, handler: Handler, monkeypatch: pytest.MonkeyPatch
) -> None:
    plivo = pytest.importorskip("plivo")
    import plivo.rest.client as rest

    handler.routes["/answer"] = (200, GOOD_XML)
    box = start()
    for name in ("PLIVO_API_BASE_URI", "API_VOICE_BASE_URI"):
        monkeypatch.setattr(rest, name, f"{box.url}/v1/Account")
    client = plivo.RestClient(AUTH_ID, TOKEN)
    created = client.calls.create(
        from_="+14152224444", to_="+14155550100", answer_url=f"{handler.url}/answer"
    )
    assert box.wait_for_calls(10)
    record = client.calls.get(created.request_uuid)
    assert record.call_uuid == created.request_uuid
    assert record.hangup_cause_name == "End Of XML Instructions"
    assert record.hangup_cause_code == 4010 and record.call_direction == "outbound"
    assert record.to_number == "+14155550100" and record.bill_duration >= 1
    from plivo.exceptions import ResourceNotFoundError

    with pytest.raises(ResourceNotFoundError):
        client.live_calls.get(created.request_uuid)


def test_empty_response_ends_at_once_and_entity_bomb_is_invalid(
    start: Start, handler: Handler
) -> None:
    handler.routes["/answer"] = (200, b"<Response/>")
    box = start(SimulationConfig(duration_s=30))
    place(box, **call_body(handler))
    assert box.wait_for_calls(10)  # not 30 s: the empty document ends the call
    assert handler.received("/hangup")[0]["params"]["HangupCauseCode"] == "4010"
    bomb = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">]><Response>&a;</Response>'
    handler.routes["/answer"] = (200, bomb)
    place(box, **call_body(handler, to="+14155550102"))
    assert box.wait_for_calls(10)
    assert handler.received("/hangup")[1]["params"]["HangupCauseName"] == "Invalid Answer XML"


def test_oversized_answer_is_an_error_reaching_the_answer_url(
    start: Start, handler: Handler
) -> None:
    handler.routes["/answer"] = (200, b"<Response>" + b" " * 200_000 + b"</Response>")
    box = start()
    place(box, **call_body(handler))
    assert box.wait_for_calls(10)
    assert handler.received("/hangup")[0]["params"]["HangupCauseCode"] == "7011"
    answer = next(r for r in box.calls if r.get("simulated") == "answer")
    assert answer["note"] == "the body is over Plivo's limit for an XML document (102,400 bytes)"


def test_queued_call_state_then_played(start: Start, handler: Handler) -> None:
    handler.routes["/answer"] = (200, GOOD_XML)
    box = start(cps=1)
    early_in_a_second()  # both posts land in one second: the second is over the CPS
    place(box, **call_body(handler, to="+14155550100"))
    (second,) = place(box, status=200, **call_body(handler, to="+14155550200"))
    queued = state(box, second, "queued")
    assert queued.status_code == 200
    shape = queued.json()
    assert shape["call_status"] == "queued" and shape["call_uuid"] == second
    assert set(shape) == {"api_id", "call_status", "call_uuid", "caller_name", "direction"} | {
        "from",
        "to",
    }
    assert box.wait_for_calls(10)
    assert second in {r["params"]["CallUUID"] for r in handler.received("/hangup")}
    assert state(box, second, "queued").status_code == 404
    assert state(box, second).json()["hangup_cause_name"] == "End Of XML Instructions"


def test_time_limit_caps_the_call(start: Start, handler: Handler) -> None:
    handler.routes["/answer"] = (200, GOOD_XML)
    box = start(SimulationConfig(duration_s=30))
    (uuid,) = place(box, **call_body(handler, time_limit=1))
    assert box.wait_for_calls(10)
    params = handler.received("/hangup")[0]["params"]
    assert (params["HangupCauseName"], params["HangupCauseCode"]) == ("Scheduled Hangup", "6000")
    assert state(box, uuid).json()["call_duration"] == 1


def test_answer_mix_is_deterministic_with_a_seed(start: Start, handler: Handler) -> None:
    handler.routes["/answer"] = (200, GOOD_XML)
    shares = (parse_share("busy:0.5"), parse_share("rejected:0.25"))
    to = "<".join(f"+1415555{i:04d}" for i in range(12))
    endings = []
    for _ in range(2):
        box = start(SimulationConfig(duration_s=0.0, shares=shares, seed=7))
        uuids = place(box, **call_body(handler, to=to))
        assert box.wait_for_calls(10)
        endings.append([state(box, u).json()["hangup_cause_name"] for u in uuids])
    assert endings[0] == endings[1]
    # The shares' draws of seed 7 for twelve destinations, in order (no human among them):
    # within the ones named, and more than one kind.
    busy, rejected = "Busy Line", "Rejected"
    assert endings[0] == [busy, busy, rejected, busy, rejected, busy, busy, rejected, *[busy] * 4]


def test_record_file_and_log_show_every_step(start: Start, handler: Handler, tmp_path: Any) -> None:
    import io
    import json

    handler.routes["/answer"] = (500, b"down")
    log = io.StringIO()
    box = start(record=tmp_path / "calls.jsonl", log=log)
    (uuid,) = place(box, **call_body(handler))
    assert box.wait_for_calls(10)
    box.stop()
    lines = [json.loads(line) for line in (tmp_path / "calls.jsonl").read_text().splitlines()]
    steps = [(r["simulated"], r["status"]) for r in lines if "simulated" in r]
    assert steps == [("ring", 200), ("answer", 500), ("end", None), ("hangup", 200)]
    assert all(r["call_uuid"] == uuid for r in lines if "simulated" in r)
    end = next(r for r in lines if r.get("simulated") == "end")
    assert end["note"] == "Error Reaching Answer URL (7011, Error)"
    text = log.getvalue()
    assert f"simulate {uuid} answer POST {handler.url}/answer 500 HTTP 500" in text
    assert TOKEN not in text


# --- answer URLs that misbehave ----------------------------------------------------------------

#: Short timeouts for the handler's answer, and a bound many times theirs: a call or a stop
#: still going past it would go on as long as the server trickles, which is until the end.
TIMEOUTS = SimulationConfig(duration_s=0.0, connect_timeout_s=0.3, read_timeout_s=0.3)
BOUND_S = 20.0


def test_a_trickling_answer_handler_still_ends_the_call(start: Start) -> None:
    with raw_server(trickle_body) as (url, _):
        box = start(TIMEOUTS)
        place(box, **{"from": "+14152224444", "to": "+14155550100"}, answer_url=f"{url}/answer")
        live_ended = box.wait_for_calls(BOUND_S)
        stopping = threading.Thread(target=box.stop, daemon=True)
        stopping.start()
        stopping.join(BOUND_S)
        stopped = not stopping.is_alive()
    stopping.join(10)
    assert live_ended, "the simulated call was still live"
    assert stopped, "the sandbox could not stop"


def test_a_malformed_location_ends_the_call_with_a_hangup_callback(start: Start) -> None:
    with raw_server(bad_location) as (url, seen):
        box = start(TIMEOUTS)
        (uuid,) = place(
            box,
            **{"from": "+14152224444", "to": "+14155550100"},
            answer_url=f"{url}/answer",
            hangup_url=f"{url}/hangup",
        )
        assert box.wait_for_calls(BOUND_S)
        record = state(box, uuid).json()
    assert any(b" /hangup" in request for request in seen), seen
    assert record["hangup_cause_code"] == ANSWER_URL_ERROR.code
