"""``--answer-by`` destinations that no call of a run dials are named, with a close match."""

from __future__ import annotations

from callspec.sandbox.outcomes import parse_answer_by, undialed


def test_undialed_names_each_scripted_destination_no_call_dials() -> None:
    script = [
        parse_answer_by("+1415555010=no-answer"),  # a digit short
        parse_answer_by("14155550101=busy"),  # dialed, spelled without '+'
        parse_answer_by("sip:alice@Example.COM=busy"),  # dialed, the host's case aside
        parse_answer_by("+447700900123=busy"),  # nothing near it
    ]
    dialed = ["+14155550100", "+14155550101", "sip:alice@example.com", " "]
    (typo, close), (far, none) = undialed(script, dialed)
    assert (typo, close) == ("+1415555010", "+14155550101")
    assert (far, none) == ("+447700900123", None)
    assert undialed(script[1:3], dialed) == []
