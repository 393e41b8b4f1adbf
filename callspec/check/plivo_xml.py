"""Plivo XML: parsing an untrusted document safely and checking it against Plivo's rules.

Owns the hardened parse (defusedxml: no DTD, no entity declarations, no external entities,
a size cap), the rules in ``schemas/plivo-xml.json`` (derived from the plivo SDK's
``plivo.xml`` package by ``tools/plivo_xml_rules.py``), and every problem a document can
have, each located at the line and column of the element at fault.  The sandbox's call
lifecycle and ``callspec check`` use the same checker.
"""

from __future__ import annotations

import functools
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from callspec.check.answer import MAX_XML_BYTES
from callspec.errors import line_col
from callspec.spec.validate import closest

#: A document over Plivo's limit is refused, located at its start.
DEFAULT_MAX_BYTES = MAX_XML_BYTES
#: More elements than any answer document needs; past it the document is refused, located.
MAX_ELEMENTS = 10_000
#: Problems reported per document; the rest are counted.
MAX_PROBLEMS = 50
_XML_NS = "{http://www.w3.org/XML/1998/namespace}"
_TRUE_FALSE = ("true", "false")
_INTEGER = re.compile(r"\s*[+-]?[0-9]{1,18}\s*\Z")


@dataclass(frozen=True)
class XmlProblem:
    """One problem of a document: 1-based line and column, and what is wrong."""

    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.line}:{self.column}: {self.message}"


class XmlError(Exception):
    """A document that cannot be parsed safely (not XML, a DTD, too large)."""

    def __init__(self, problem: XmlProblem) -> None:
        super().__init__(str(problem))
        self.problem = problem


@functools.cache
def rules() -> Mapping[str, Any]:
    """The rules document (schemas/plivo-xml.json), loaded once."""
    from callspec.schemas import schema_dir

    with (schema_dir() / "plivo-xml.json").open(encoding="utf-8") as f:
        loaded: dict[str, Any] = json.load(f)
    return loaded


class _TooMany(Exception):
    """Raised inside the parser when a document has more than MAX_ELEMENTS elements."""


class _Builder:
    """An ElementTree target that remembers where each element starts."""

    def __init__(self) -> None:
        self.builder = ET.TreeBuilder()
        self.positions: dict[int, tuple[int, int]] = {}
        self.where: Any = None  # the expat parser, set once the parser exists

    def start(self, tag: str, attrib: dict[str, str]) -> ET.Element:
        if len(self.positions) >= MAX_ELEMENTS:
            raise _TooMany(self.where.CurrentLineNumber, self.where.CurrentColumnNumber + 1)
        element = self.builder.start(tag, attrib)
        if self.where is not None:
            self.positions[id(element)] = (
                self.where.CurrentLineNumber,
                self.where.CurrentColumnNumber + 1,
            )
        return element

    def end(self, tag: str) -> ET.Element:
        return self.builder.end(tag)

    def data(self, data: str) -> None:
        self.builder.data(data)

    def close(self) -> ET.Element:
        return self.builder.close()


def _parse(body: bytes, max_bytes: int) -> tuple[ET.Element, dict[int, tuple[int, int]]]:
    from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
    from defusedxml.ElementTree import DefusedXMLParser

    if len(body) > max_bytes:
        raise XmlError(
            XmlProblem(
                1, 1, f"the document is over the size cap ({len(body):,} > {max_bytes:,} bytes)"
            )
        )
    builder = _Builder()
    parser = DefusedXMLParser(
        target=builder, forbid_dtd=True, forbid_entities=True, forbid_external=True
    )
    expat = parser.parser
    builder.where = expat
    try:
        parser.feed(body)
        root: ET.Element = parser.close()
    except DTDForbidden as exc:
        line, column = _where(body, b"<!DOCTYPE", expat)
        raise XmlError(
            XmlProblem(
                line,
                column,
                f"a DOCTYPE ({exc.name}) is not allowed: its entities could expand without "
                "bound or read other files; Plivo XML needs none",
            )
        ) from None
    except (EntitiesForbidden, ExternalReferenceForbidden):
        raise XmlError(
            XmlProblem(
                expat.CurrentLineNumber,
                expat.CurrentColumnNumber + 1,
                "entity declarations and external entities are not allowed",
            )
        ) from None
    except _TooMany as exc:
        line, column = exc.args
        raise XmlError(
            XmlProblem(
                line,
                column,
                f"more than {MAX_ELEMENTS:,} elements: no answer document needs so many",
            )
        ) from None
    except ET.ParseError as exc:
        line, column = exc.position
        reason = str(exc).split(":", 1)[0]
        raise XmlError(XmlProblem(line, column + 1, f"not well-formed XML: {reason}")) from None
    return root, builder.positions


def _where(body: bytes, token: bytes, expat: Any) -> tuple[int, int]:
    """Line and column of ``token``'s first occurrence (expat's own position when absent)."""
    at = body.find(token)
    if at < 0:
        return expat.CurrentLineNumber, expat.CurrentColumnNumber + 1
    return line_col(body, at)


def safe_parse(body: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ET.Element:
    """Parse an untrusted document; raise XmlError (located) for anything unsafe or broken."""
    return _parse(body, max_bytes)[0]


def _display(name: str) -> str:
    return "xml:" + name[len(_XML_NS) :] if name.startswith(_XML_NS) else name


def _suggest(name: str, choices: list[str], *, element: bool = False) -> str:
    """``; did you mean 'voice'?`` (``<Speak>`` for an element), or the empty string."""
    close = closest(name, choices)
    if close is None:
        return ""
    return f"; did you mean <{close}>?" if element else f"; did you mean '{close}'?"


def _short(value: str, limit: int = 80) -> str:
    """A value from the document, quoted and cut short for a message."""
    return repr(value if len(value) <= limit else value[: limit - 1] + "\N{HORIZONTAL ELLIPSIS}")


def _value_problem(tag: str, attr: str, value: str, rule: Mapping[str, Any]) -> str | None:
    kind = rule.get("type", "string")
    where = f"<{tag}> attribute '{_display(attr)}'"
    pattern = rule.get("pattern")
    if pattern is not None and not re.match(pattern, value):
        return f"{where} is {_short(value)}; it must be {rule['hint']}"
    enum = rule.get("enum")
    if enum is not None:
        items = value.split(",") if rule.get("list") else [value]
        sensitive = rule.get("case_sensitive", True)
        allowed = set(enum) if sensitive else {e.lower() for e in enum}
        for item in items:
            probe = item.strip() if sensitive else item.strip().lower()
            if probe in allowed:
                continue
            if rule.get("or_url") and item.strip().lower().startswith(("http://", "https://")):
                continue
            extra = " or a URL" if rule.get("or_url") else ""
            return f"{where} is {_short(item)}; it must be one of {', '.join(enum)}{extra}"
        return None
    if kind == "boolean" and value.strip().lower() not in _TRUE_FALSE:
        return f"{where} is {_short(value)}; it must be true or false"
    if kind == "integer":
        if not _INTEGER.match(value):
            return f"{where} is {_short(value)}; it must be an integer"
        number = int(value.strip())
        low, high = rule.get("minimum"), rule.get("maximum")
        if (low is not None and number < low) or (high is not None and number > high):
            if low is not None and high is not None:
                bounds = f"from {low} to {high}"
            else:
                bounds = f"at least {low}" if low is not None else f"at most {high}"
            return f"{where} is {number}; it must be {bounds}"
    return None


def _redirect_target(element: ET.Element) -> str:
    return (element.text or "").strip()


def check_tree(
    root: ET.Element,
    positions: Mapping[int, tuple[int, int]],
    *,
    url: str | None = None,
) -> tuple[XmlProblem, ...]:
    """Every rule a parsed document breaks, in document order."""
    elements: Mapping[str, Any] = rules()["elements"]
    top: str = rules()["root"]
    problems: list[XmlProblem] = []

    def at(element: ET.Element) -> tuple[int, int]:
        return positions.get(id(element), (1, 1))

    if root.tag != top:
        line, col = at(root)
        hint = _suggest(root.tag, [top], element=True)
        problems.append(
            XmlProblem(line, col, f"the root element is <{root.tag}>, not <{top}>{hint}")
        )
        return tuple(problems)
    if len(root) == 0:
        line, col = at(root)
        problems.append(
            XmlProblem(line, col, f"<{top}> is empty: Plivo would hang up the call at once")
        )
    stack: list[ET.Element] = [root]
    while stack:
        element = stack.pop()
        tag = element.tag
        rule = elements.get(tag)
        line, col = at(element)
        if rule is None:  # reported by its parent
            continue
        for attr, value in element.attrib.items():
            attr_rules: Mapping[str, Any] = rule["attributes"]
            if attr not in attr_rules:
                names = [_display(a) for a in attr_rules]
                hint = _suggest(_display(attr), names)
                if not names:
                    hint = "; it takes none"
                problems.append(
                    XmlProblem(line, col, f"<{tag}> has no attribute '{_display(attr)}'{hint}")
                )
                continue
            message = _value_problem(tag, attr, value, attr_rules[attr])
            if message:
                problems.append(XmlProblem(line, col, message))
        for attr, attr_rule in rule["attributes"].items():
            if attr_rule.get("required") and attr not in element.attrib:
                problems.append(
                    XmlProblem(line, col, f"<{tag}> needs the attribute '{_display(attr)}'")
                )
        text = "".join([element.text or "", *((child.tail or "") for child in element)]).strip()
        if rule["text"] == "none" and text:
            problems.append(XmlProblem(line, col, f"<{tag}> takes no text (found {text[:40]!r})"))
        elif rule["text"] == "required" and not text and len(element) == 0:
            problems.append(XmlProblem(line, col, f"<{tag}> needs text content"))
        text_url = rule.get("text_url")
        if text_url and text and urlsplit(text).scheme.lower() not in text_url["schemes"]:
            schemes = " or ".join(text_url["schemes"])
            problems.append(
                XmlProblem(
                    line, col, f"<{tag}> needs an absolute {schemes} URL (found {text[:80]!r})"
                )
            )
        if tag == "Redirect" and url is not None and _redirect_target(element) == url:
            problems.append(
                XmlProblem(
                    line, col, f"<Redirect> points at this document's own URL: a loop ({url})"
                )
            )
        allowed: list[str] = rule["children"]
        for child in element:  # the builder keeps no comments or processing instructions
            cline, ccol = at(child)
            if child.tag not in elements:
                hint = _suggest(child.tag, allowed or list(elements), element=True)
                problems.append(
                    XmlProblem(cline, ccol, f"<{child.tag}> is not a Plivo XML element{hint}")
                )
            elif child.tag not in allowed:
                inside = ", ".join(f"<{a}>" for a in allowed) if allowed else "nothing"
                problems.append(
                    XmlProblem(
                        cline,
                        ccol,
                        f"<{child.tag}> cannot be inside <{tag}> (<{tag}> takes {inside})",
                    )
                )
        stack.extend(reversed(list(element)))
    ordered = sorted(problems, key=lambda p: (p.line, p.column))
    if len(ordered) > MAX_PROBLEMS:
        last = ordered[MAX_PROBLEMS - 1]
        more = len(ordered) - MAX_PROBLEMS + 1
        ordered[MAX_PROBLEMS - 1 :] = [
            XmlProblem(last.line, last.column, f"... and {more:,} more problems")
        ]
    return tuple(ordered)


def check_document(
    body: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, url: str | None = None
) -> tuple[XmlProblem, ...]:
    """Every problem of a document, () when it is valid Plivo XML.

    ``url`` is where the document came from: a ``<Redirect>`` to it is a loop.
    """
    try:
        root, positions = _parse(body, max_bytes)
    except XmlError as exc:
        return (exc.problem,)
    return check_tree(root, positions, url=url)


def redirects(body: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[tuple[str, str], ...]:
    """The (URL, method) of each <Redirect> of a valid document (POST unless it says)."""
    root = safe_parse(body, max_bytes=max_bytes)
    found = []
    for element in root.iter("Redirect"):
        target = _redirect_target(element)
        if target:
            found.append((target, element.attrib.get("method", "POST").upper()))
    return tuple(found)
