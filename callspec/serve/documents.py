"""The Plivo XML the service serves: the prompt, and what follows each key.

The prompt is one ``<GetDigits>`` per time the message is spoken: Plivo speaks
the nested ``<Speak>``, waits ``pause_s`` seconds for the first key, and, when
none comes, goes on to the next element (Plivo's GetDigits reference), which
speaks the message again; after the last, a goodbye.  A key ends the
``<GetDigits>`` and Plivo requests its ``action`` URL with ``Digits``; what that
URL answers is what the caller hears next: thanks after the acknowledging key,
the message once more after a wrong one (a bounded number of times), a goodbye
after a key that came too late or none.

Documents are built with ElementTree, so a message with ``<`` or ``&`` is text,
never markup; every document passes :func:`callspec.check.plivo_xml.check_document`
(tests pin it).  The fixed phrases are English; the message is spoken in the
registered voice and language, and so are they.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from callspec.serve.prompt import Prompt

#: Wrong keys after which the service stops asking and says goodbye.
MAX_WRONG_KEYS = 2
THANKS = "Acknowledged. Thank you. Goodbye."
WRONG_KEY = "That key does not acknowledge this page."
NO_KEY = "No key was pressed. Goodbye."
LATE = "Thank you. The time to acknowledge this page has passed, so it has moved on. Goodbye."
GOODBYE = "Goodbye."


def _speak(parent: ET.Element, prompt: Prompt, text: str) -> None:
    speak = ET.SubElement(parent, "Speak", voice=prompt.voice, language=prompt.language)
    speak.text = text


def _get_digits(parent: ET.Element, prompt: Prompt, action: str) -> None:
    element = ET.SubElement(
        parent,
        "GetDigits",
        action=action,
        method="POST",
        timeout=str(prompt.pause_s),
        numDigits="1",
        retries="1",
        redirect="true",
    )
    _speak(element, prompt, prompt.message)


def _document(root: ET.Element) -> bytes:
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body


def _response() -> ET.Element:
    return ET.Element("Response")


def prompt_document(prompt: Prompt, action: str) -> bytes:
    """What the answer URL serves: the message ``repeat`` times, each with a pause for
    the key that ``action`` records, then a goodbye."""
    root = _response()
    for _ in range(prompt.repeat):
        _get_digits(root, prompt, action)
    _speak(root, prompt, NO_KEY)
    return _document(root)


def acknowledged_document(prompt: Prompt) -> bytes:
    """After the acknowledging key (or a second press of it)."""
    root = _response()
    _speak(root, prompt, THANKS)
    return _document(root)


def wrong_key_document(prompt: Prompt, action: str, wrong_keys: int) -> bytes:
    """After a key that is not the acknowledging one: the message once more while the
    caller has wrong keys left, else a goodbye."""
    root = _response()
    _speak(root, prompt, WRONG_KEY)
    if wrong_keys <= MAX_WRONG_KEYS:
        _get_digits(root, prompt, action)
        _speak(root, prompt, NO_KEY)
    else:
        _speak(root, prompt, GOODBYE)
    return _document(root)


def late_document(prompt: Prompt) -> bytes:
    """After the acknowledging key, pressed later than ``within_s`` after the answer."""
    root = _response()
    _speak(root, prompt, LATE)
    return _document(root)


def no_key_document(prompt: Prompt) -> bytes:
    """After an action request without a key (``#`` alone, or an empty ``Digits``)."""
    root = _response()
    _speak(root, prompt, NO_KEY)
    return _document(root)


def ended_document() -> bytes:
    """The answer to Plivo's hangup request (sent to the answer URL when the call has no
    ``hangup_url``): Plivo reads nothing from it."""
    return _document(_response())
