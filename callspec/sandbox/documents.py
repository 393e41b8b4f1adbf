"""What a simulated call's XML tells it to do: the steps Plivo would take, in order.

A document the simulator fetched (answer, fallback, ``<Redirect>`` target or a
``<GetDigits>`` action) is judged by the rules ``callspec check`` applies
(:mod:`callspec.check.answer`: Content-Type, size cap;
:mod:`callspec.check.plivo_xml`); a valid one becomes its top-level steps that
change the call's course: ``<Redirect>`` (fetch the next document),
``<Hangup>`` (end it, with a reason) and ``<GetDigits>`` (a key may be pressed and
sent to its ``action``).  ``<Speak>``, ``<Play>`` and ``<Wait>`` take time on a
real call and nothing else; the simulation does not spend it.
"""

from __future__ import annotations

from dataclasses import dataclass

from callspec.check.answer import content_type_problem
from callspec.check.plivo_xml import XmlError, check_document, safe_parse


@dataclass(frozen=True)
class Redirect:
    """``<Redirect>``: Plivo fetches ``url`` and runs what it serves instead."""

    url: str
    method: str


@dataclass(frozen=True)
class Hangup:
    """``<Hangup>``: the call ends (``reason`` "" for a plain one, else busy/rejected)."""

    reason: str


@dataclass(frozen=True)
class GetDigits:
    """``<GetDigits>``: keys are collected; with ``redirect`` (Plivo's default) the
    ``action`` URL's document replaces this one, else the call goes on after it."""

    action: str
    method: str
    redirect: bool


Step = Redirect | Hangup | GetDigits


@dataclass(frozen=True)
class Document:
    """A valid document's steps, in order; ``empty`` for ``<Response/>`` (the call ends)."""

    steps: tuple[Step, ...]
    empty: bool = False


def read_document(body: bytes, content_type: str | None) -> tuple[Document | None, str | None]:
    """The document, or what is wrong with it: served as what Plivo does not read, or its
    first problems, located."""
    wrong_type = content_type_problem(content_type or None)
    if wrong_type is not None:
        return None, wrong_type
    try:
        root = safe_parse(body)
    except XmlError as e:
        where = e.problem
        return None, f"invalid Plivo XML: {where.line}:{where.column}: {where.message}"
    if root.tag == "Response" and len(root) == 0:
        # Valid, and Plivo ends such a call at once (the checker warns of it).
        return Document((), empty=True), None
    problems = check_document(body)
    if problems:
        text = "; ".join(f"{p.line}:{p.column}: {p.message}" for p in problems[:3])
        more = f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""
        return None, f"invalid Plivo XML: {text}{more}"
    steps: list[Step] = []
    for element in list(root):
        method = element.get("method", "POST").upper()
        if element.tag == "Redirect":
            steps.append(Redirect((element.text or "").strip(), method))
            break  # Plivo leaves this document for the next
        if element.tag == "Hangup":
            steps.append(Hangup(element.get("reason", "")))
            break
        if element.tag == "GetDigits":
            redirect = element.get("redirect", "true").strip().lower() != "false"
            steps.append(GetDigits(element.get("action", "").strip(), method, redirect))
    return Document(tuple(steps)), None
