"""The Plivo XML checker: the rules against the SDK's own builders, and each kind of bad XML."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from plivo import plivoxml
from support import ROOT

from callspec.check.plivo_xml import (
    XmlError,
    XmlProblem,
    check_document,
    redirects,
    rules,
    safe_parse,
)


def _sdk_documents() -> list[tuple[str, bytes]]:
    """XML made by the plivo SDK's builders, covering every verb and noun it knows."""
    r = plivoxml.ResponseElement()
    r.add_speak("Hello", voice="WOMAN", language="en-US", loop=2)
    speak = plivoxml.SpeakElement("Pick one.", voice="Polly.Joanna")
    speak.add_break(time="1s", strength="strong").add_emphasis("now", level="strong")
    speak.add_prosody("slow", rate="slow", pitch="low", volume="soft")
    speak.add_say_as("123", interpret_as="digits").add_sub("W3C", alias="web")
    speak.add_p("para").add_s("sentence").add_w("read", role="amazon:VBD")
    speak.add_phoneme("tomato", alphabet="ipa", ph="t").add_lang("bonjour", xmllang="fr-FR")
    r.add(speak)
    r.add_play("https://s3.amazonaws.com/plivocloud/Trumpet.mp3", loop=1)
    gd = plivoxml.GetDigitsElement(
        action="https://example.com/digits",
        method="POST",
        timeout=7,
        num_digits=1,
        retries=2,
        redirect=True,
        play_beep=False,
        finish_on_key="#",
        valid_digits="123",
    )
    gd.add_speak("Press 1").add_play("https://example.com/a.mp3").add_wait(length=2)
    r.add(gd)
    gi = plivoxml.GetInputElement().set_action("https://example.com/input").set_method("POST")
    gi.set_input_type("speech").set_execution_timeout(10).set_digit_end_timeout(3)
    gi.set_speech_end_timeout(2).set_redirect(True).set_profanity_filter(True)
    gi.add_speak("Say something")
    r.add(gi)
    dial = plivoxml.DialElement(
        action="https://example.com/dial",
        method="POST",
        timeout=30,
        caller_id="+14155550100",
        redirect=False,
        dial_music="real",
    )
    dial.add_number("+14155550101", send_digits="1w2", send_on_preanswer=True)
    dial.add_user("sip:alice@phone.plivo.com", sip_headers="a=b")
    r.add(dial)
    r.add_conference(
        "room",
        muted=False,
        start_conference_on_enter=True,
        max_members=10,
        record=True,
        record_file_format="mp3",
        callback_url="https://example.com/c",
    )
    r.add_record(
        action="https://example.com/rec",
        max_length=60,
        file_format="mp3",
        play_beep=True,
        record_session=False,
        transcription_type="auto",
    )
    r.add_wait(length=3, silence=True, min_silence=2, beep=False)
    r.add_dtmf("123", async_=True)
    r.add_message("hi", src="+14155550100", dst="+14155550101", type="sms")
    r.add(
        plivoxml.StreamElement(
            "wss://example.com/s",
            bidirectional=True,
            audioTrack="inbound",
            streamTimeout=60,
            contentType="audio/x-l16;rate=8000",
        )
    )
    r.add(
        plivoxml.MultiPartyCallElement(
            "mpc",
            role="Agent",
            max_duration=3600,
            max_participants=5,
            wait_time=10,
            record=True,
            status_callback_events="mpc-state-changes",
        )
    )
    r.add_redirect("https://example.com/next", method="GET")
    r.add_hangup(reason="busy", schedule=60)
    pre = plivoxml.ResponseElement()
    pa = plivoxml.PreAnswerElement()
    pa.add_speak("early").add_play("https://example.com/a.mp3").add_wait(length=1)
    pre.add(pa).add_speak("answered")
    return [("full", r.to_string().encode()), ("preanswer", pre.to_string().encode())]


@pytest.mark.parametrize(("name", "body"), _sdk_documents(), ids=lambda v: str(v)[:10])
def test_xml_the_sdk_builds_is_valid(name: str, body: bytes) -> None:
    assert check_document(body) == ()


def test_every_element_the_sdk_knows_is_covered_by_its_documents() -> None:
    seen = set()
    for _, body in _sdk_documents():
        seen |= {e.tag for e in safe_parse(body).iter()}
    known = set(rules()["elements"]) - {"cont"}  # the SDK's <cont> never reaches the XML
    assert known <= seen, known - seen


def test_rules_file_matches_the_installed_sdk() -> None:
    made = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "plivo_xml_rules.py")],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert json.loads(made) == json.loads((ROOT / "schemas" / "plivo-xml.json").read_text())


def test_rules_name_their_source() -> None:
    doc = rules()
    assert "plivo.xml" in doc["$comment"] and doc["sdk"].startswith("plivo ")
    assert all(e["source"].startswith("plivo/xml/") for e in doc["elements"].values())


def _one(body: bytes) -> XmlProblem:
    problems = check_document(body)
    assert len(problems) == 1, problems
    return problems[0]


def test_unknown_verb_is_named_with_a_suggestion() -> None:
    p = _one(b"<Response>\n  <Spek>hello</Spek>\n</Response>")
    assert (p.line, p.column) == (2, 3)
    assert p.message == "<Spek> is not a Plivo XML element; did you mean <Speak>?"


def test_bad_attribute_suggests_the_right_one() -> None:
    p = _one(b'<Response>\n<Speak voise="WOMAN">hi</Speak>\n</Response>')
    assert p.line == 2
    assert p.message == "<Speak> has no attribute 'voise'; did you mean 'voice'?"


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        (
            b'<Play loop="often">https://x.test/a.mp3</Play>',
            "<Play> attribute 'loop' is 'often'; it must be an integer",
        ),
        (b'<Wait beep="yes"/>', "<Wait> attribute 'beep' is 'yes'; it must be true or false"),
        (
            '<Play loop="\u00b2">https://x.test/a.mp3</Play>'.encode(),
            "<Play> attribute 'loop' is '\u00b2'; it must be an integer",
        ),
        (
            b'<Redirect method="PUT">https://x/</Redirect>',
            "<Redirect> attribute 'method' is 'PUT'; it must be one of GET, POST",
        ),
        (
            b'<MultiPartyCall role="agent" maxDuration="10">m</MultiPartyCall>',
            "<MultiPartyCall> attribute 'maxDuration' is 10; it must be from 300 to 28800",
        ),
        (b"<MultiPartyCall>m</MultiPartyCall>", "<MultiPartyCall> needs the attribute 'role'"),
        (b"<Dial>+14155550100</Dial>", "<Dial> takes no text (found '+14155550100')"),
        (b"<Play/>", "<Play> needs text content"),
        (
            b"<Redirect>/next.xml</Redirect>",
            "<Redirect> needs an absolute http or https URL (found '/next.xml')",
        ),
    ],
)
def test_bad_values(xml: bytes, message: str) -> None:
    assert _one(b"<Response>" + xml + b"</Response>").message == message


def test_bad_nesting_names_what_the_parent_takes() -> None:
    p = _one(b"<Response><Dial><Speak>hi</Speak></Dial></Response>")
    assert p.message == "<Speak> cannot be inside <Dial> (<Dial> takes <User>, <Number>)"
    p = _one(b"<Response><Number>+1415</Number></Response>")
    assert p.message.startswith("<Number> cannot be inside <Response>")


def test_root_must_be_response() -> None:
    assert _one(b"<response/>").message == (
        "the root element is <response>, not <Response>; did you mean <Response>?"
    )


def test_empty_response_would_hang_up() -> None:
    p = _one(b'<?xml version="1.0"?>\n<Response/>')
    assert (p.line, p.message) == (2, "<Response> is empty: Plivo would hang up the call at once")


def test_redirect_to_itself_is_a_loop() -> None:
    url = "http://127.0.0.1:9/answer"
    body = f"<Response><Speak>x</Speak><Redirect>{url}</Redirect></Response>".encode()
    problems = check_document(body, url=url)
    assert [p.message for p in problems] == [
        f"<Redirect> points at this document's own URL: a loop ({url})"
    ]
    assert check_document(body, url="http://127.0.0.1:9/other") == ()
    assert redirects(body) == ((url, "POST"),)


def test_not_xml_is_located() -> None:
    p = _one(b"<html><body>Error 500</body>")
    assert p.message.startswith("not well-formed XML")
    assert p.line == 1
    with pytest.raises(XmlError) as caught:
        safe_parse(b"Internal Server Error")
    assert caught.value.problem.message.startswith("not well-formed XML")


BOMB = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + b"".join(
        f' <!ENTITY lol{i} "{(f"&lol{i - 1};" if i > 1 else "&lol;") * 10}">\n'.encode()
        for i in range(1, 10)
    )
    + b"]>\n<Response><Speak>&lol9;</Speak></Response>"
)


def test_entity_bomb_is_refused_before_expanding() -> None:
    # Refused at its DOCTYPE, before any entity is declared: nothing expands (measured:
    # about 2 ms; expanding it would take a billion "lol"s).
    p = _one(BOMB)
    assert (p.line, p.column) == (2, 1) and "DOCTYPE" in p.message
    with pytest.raises(XmlError):
        safe_parse(BOMB)


def test_external_entity_is_refused() -> None:
    body = (
        b'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
        b"<Response><Speak>&x;</Speak></Response>"
    )
    p = _one(body)
    assert (p.line, p.column) == (2, 1) and "DOCTYPE" in p.message
    assert "root:" not in p.message


def test_size_cap() -> None:
    body = b"<Response><Speak>" + b"a" * 2000 + b"</Speak></Response>"
    p = check_document(body, max_bytes=1000)[0]
    assert p.message == "the document is over the size cap (2,036 > 1,000 bytes)"
    assert check_document(body, max_bytes=10_000) == ()


def test_element_count_is_capped_and_located() -> None:
    body = b"<Response>\n" + b"<Wait/>" * 12_000 + b"\n</Response>"  # under the size cap
    p = _one(body)
    assert (p.line, p.column) == (2, 69_994)
    assert p.message == "more than 10,000 elements: no answer document needs so many"


def test_problems_are_capped() -> None:
    body = b"<Response>" + b"<Wiat/>" * 200 + b"</Response>"
    problems = check_document(body)
    assert len(problems) == 50
    assert problems[-1].message == "... and 151 more problems"
    assert problems[0].message.endswith("did you mean <Wait>?")
