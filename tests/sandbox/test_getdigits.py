"""``--simulate`` plays ``<GetDigits>``: who presses which key, and where it is sent."""

from __future__ import annotations

import pytest
from simulation_plugin import Handler, Start, call_body, place, scripted

from callspec.sandbox.outcomes import SimulationConfig

pytestmark = pytest.mark.timeout(30)


def prompt(handler: Handler, **attributes: str) -> bytes:
    """A page's answer: the message in a <GetDigits> whose action is the handler's /key."""
    attrs = " ".join(
        f'{k}="{v}"' for k, v in {"action": f"{handler.url}/key", **attributes}.items()
    )
    return (
        f"<Response><GetDigits {attrs}><Speak>Deploy failed. Press 1.</Speak></GetDigits>"
        "<Speak>No key was pressed. Goodbye.</Speak></Response>"
    ).encode()


THANKS = b"<Response><Speak>Acknowledged.</Speak></Response>"


def hangup_params(handler: Handler) -> dict[str, str]:
    (hangup,) = handler.received("/hangup")
    params: dict[str, str] = hangup["params"]
    return params


def test_ack_presses_the_ack_digit_and_follows_the_action(start: Start, handler: Handler) -> None:
    handler.routes["/answer"] = (200, prompt(handler))
    handler.routes["/key"] = (200, THANKS)
    box = start(scripted("+14155550100=ack"))
    (uuid,) = place(box, **call_body(handler))
    assert box.wait_for_calls(10)
    assert handler.paths() == ["/ring", "/answer", "/key", "/hangup"]
    (key,) = handler.received("/key")
    assert key["method"] == "POST"
    assert key["params"]["Digits"] == "1"
    assert key["params"]["CallUUID"] == uuid and key["params"]["CallStatus"] == "in-progress"
    assert "Event" not in key["params"]
    assert hangup_params(handler)["HangupCauseCode"] == "4010"
    steps = [r["simulated"] for r in box.calls if "simulated" in r]
    assert steps == ["ring", "answer", "key", "digits", "end", "hangup"]
    assert [r["note"] for r in box.calls if r.get("simulated") == "key"] == ["pressed 1"]


def test_ack_digit_per_destination(start: Start, handler: Handler) -> None:
    handler.routes["/answer"] = (200, prompt(handler))
    handler.routes["/key"] = (200, THANKS)
    box = start(scripted("+14155550100=ack", ack_digit="4", ack_digits=(("14155550100", "7"),)))
    place(box, **call_body(handler))
    assert box.wait_for_calls(10)
    assert [r["params"]["Digits"] for r in handler.received("/key")] == ["7"]


def test_wrong_key_presses_another_key_once(start: Start, handler: Handler) -> None:
    # The action answers with the prompt again: the callee presses nothing the second time.
    handler.routes["/answer"] = (200, prompt(handler))
    handler.routes["/key"] = (200, prompt(handler))
    box = start(scripted("+14155550100=wrong-key", ack_digit="9"))
    place(box, **call_body(handler))
    assert box.wait_for_calls(10)
    assert [r["params"]["Digits"] for r in handler.received("/key")] == ["8"]
    assert hangup_params(handler)["HangupCauseName"] == "End Of XML Instructions"


@pytest.mark.parametrize("outcome", ["human", "machine"])
def test_who_presses_nothing_never_reaches_the_action(
    start: Start, handler: Handler, outcome: str
) -> None:
    handler.routes["/answer"] = (200, prompt(handler))
    box = start(scripted(f"+14155550100={outcome}"))
    place(box, **call_body(handler))
    assert box.wait_for_calls(10)
    assert handler.paths() == ["/ring", "/answer", "/hangup"]
    assert hangup_params(handler)["HangupCauseCode"] == "4010"


def test_redirect_false_requests_the_action_and_goes_on(start: Start, handler: Handler) -> None:
    answer = prompt(handler, redirect="false").replace(
        b"</Response>", b"<Hangup reason='busy'/></Response>"
    )
    handler.routes["/answer"] = (200, answer)
    box = start(scripted("+14155550100=ack"))
    place(box, **call_body(handler))
    assert box.wait_for_calls(10)
    assert handler.paths() == ["/ring", "/answer", "/key", "/hangup"]
    # The document went on after the <GetDigits> to its <Hangup reason="busy"/>.
    assert hangup_params(handler)["HangupCauseName"] == "Busy Line"


def test_an_action_that_fails_ends_the_call_as_plivo_does(start: Start, handler: Handler) -> None:
    handler.routes["/answer"] = (200, prompt(handler))
    handler.routes["/key"] = (500, b"oops")
    box = start(scripted("+14155550100=ack"))
    place(box, **call_body(handler))
    assert box.wait_for_calls(10)
    params = hangup_params(handler)
    assert params["HangupCauseName"] == "Error Reaching Action URL"
    assert params["HangupCauseCode"] == "7012"


def test_an_action_with_invalid_xml_ends_the_call(start: Start, handler: Handler) -> None:
    handler.routes["/answer"] = (200, prompt(handler))
    handler.routes["/key"] = (200, b"<Response><Speek>typo</Speek></Response>")
    box = start(scripted("+14155550100=ack"))
    place(box, **call_body(handler))
    assert box.wait_for_calls(10)
    params = hangup_params(handler)
    assert params["HangupCauseName"] == "Invalid Action XML"
    assert params["HangupCauseCode"] == "8012"
    (problem,) = [r for r in box.calls if r.get("simulated") == "digits-xml"]
    assert "Speek" in problem["note"]


def test_an_unknown_ack_key_is_refused() -> None:
    with pytest.raises(ValueError, match="an acknowledging key must be one of 0-9 and \\*"):
        SimulationConfig(ack_digit="#")
