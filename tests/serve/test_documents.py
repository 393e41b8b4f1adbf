"""The XML the service serves passes callspec's own Plivo XML checker, and says what it should."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from callspec.check.plivo_xml import check_document
from callspec.serve import documents
from callspec.serve.prompt import Prompt

ACTION = "https://acks.example.com/plivo/digits/AAAAAAAAAAAAAAAAAAAAAAAA"
PROMPTS = [
    Prompt("Deploy of payments failed. Press 1 to take it."),
    Prompt('<b>db-1</b> & db-2 are "down"; it\'s bad.\nPress 4.', digit="4", repeat=5),
    Prompt("Le déploiement a échoué.", voice="Polly.Celine", language="fr-FR", repeat=1),
    Prompt("x" * 3000, voice="MAN", language="en-GB", pause_s=30, within_s=14_400),
]


def every_document(prompt: Prompt) -> list[bytes]:
    return [
        documents.prompt_document(prompt, ACTION),
        documents.acknowledged_document(prompt),
        documents.wrong_key_document(prompt, ACTION, 1),
        documents.wrong_key_document(prompt, ACTION, documents.MAX_WRONG_KEYS + 1),
        documents.late_document(prompt),
        documents.no_key_document(prompt),
    ]


@pytest.mark.parametrize("prompt", PROMPTS, ids=["plain", "markup", "polly", "longest"])
def test_every_document_passes_the_checker(prompt: Prompt) -> None:
    for body in every_document(prompt):
        assert check_document(body) == ()


def test_the_prompt_speaks_the_message_repeat_times_then_goodbye() -> None:
    prompt = PROMPTS[1]
    root = ET.fromstring(documents.prompt_document(prompt, ACTION))
    assert [child.tag for child in root] == ["GetDigits"] * 5 + ["Speak"]
    for get_digits in root.findall("GetDigits"):
        assert get_digits.attrib == {
            "action": ACTION,
            "method": "POST",
            "timeout": "5",
            "numDigits": "1",
            "retries": "1",
            "redirect": "true",
        }
        (speak,) = list(get_digits)
        assert speak.text == prompt.message  # markup in the message is text, not XML
        assert speak.attrib == {"voice": "WOMAN", "language": "en-US"}
    assert root[-1].text == documents.NO_KEY


def test_a_wrong_key_asks_again_until_the_last() -> None:
    prompt = PROMPTS[0]
    again = ET.fromstring(documents.wrong_key_document(prompt, ACTION, documents.MAX_WRONG_KEYS))
    assert [child.tag for child in again] == ["Speak", "GetDigits", "Speak"]
    last = ET.fromstring(documents.wrong_key_document(prompt, ACTION, documents.MAX_WRONG_KEYS + 1))
    assert [child.text for child in last] == [documents.WRONG_KEY, documents.GOODBYE]


def test_the_hangup_answer_is_an_empty_response() -> None:
    assert ET.fromstring(documents.ended_document()).tag == "Response"
