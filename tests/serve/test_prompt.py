"""A registration's bounds: what the service refuses to keep, and why (one definition)."""

from __future__ import annotations

from typing import Any

import pytest

from callspec.serve.prompt import Prompt, PromptError, from_json, new_id, valid_id


def test_a_prompt_round_trips_through_json() -> None:
    prompt = Prompt("Press 1.", voice="Polly.Joanna-Neural", language="en-US", digit="*")
    assert from_json(prompt.to_json()) == prompt


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ([], "the body must be a JSON object"),
        ({}, "message: is required"),
        ({"message": "hi", "mesage": "x"}, "unknown field 'mesage'"),
        ({"message": "   "}, "message: must be text that is not empty"),
        ({"message": 7}, "message: must be text that is not empty"),
        ({"message": "x" * 3001}, "message: 3,001 characters; at most 3,000"),
        ({"message": "bell\x07"}, "message: holds control characters that XML cannot carry"),
        ({"message": "hi", "voice": "ROBOT"}, "voice: must be WOMAN, MAN or an Amazon Polly voice"),
        (
            {"message": "hi", "language": "english"},
            "language: must be a language code such as en-US",
        ),
        ({"message": "hi", "digit": "#"}, "digit: must be one of 0 1 2 3 4 5 6 7 8 9 *"),
        ({"message": "hi", "digit": "12"}, "digit: must be one of"),
        ({"message": "hi", "within_s": 0}, "within_s: must be a whole number from 1 to 14400"),
        ({"message": "hi", "within_s": True}, "within_s: must be a whole number"),
        ({"message": "hi", "repeat": 6}, "repeat: must be a whole number from 1 to 5"),
        ({"message": "hi", "pause_s": 2.5}, "pause_s: must be a whole number from 1 to 30"),
    ],
)
def test_out_of_bounds_registrations_are_refused(body: Any, error: str) -> None:
    with pytest.raises(PromptError) as refused:
        from_json(body)
    assert str(refused.value).startswith(error)


def test_ids_are_opaque_and_checked() -> None:
    id = new_id()
    assert valid_id(id) and len(id) == 24 and id != new_id()
    for bad in ("short", "x" * 65, "has/slash-0123456789", "../../etc/passwd0123456"):
        assert not valid_id(bad)
