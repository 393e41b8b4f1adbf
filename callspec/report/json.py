"""The JSON report's writer and checker: strict JSON, a call at a time.

The document itself (``schemas/report.schema.json``, every string masked) is
:mod:`callspec.report.document`'s; this module writes it (a value JSON cannot
carry, NaN or Infinity, refuses the report with its path rather than write an
invalid file) and checks a document against the schema.
"""

from __future__ import annotations

import functools
import json
import math
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, TextIO

from callspec.redact import Redactor
from callspec.report.base import Reporter, ReportError
from callspec.report.utf8 import has_surrogate, utf8_safe_value
from callspec.schemas import validator
from callspec.text import BIDI

_DATE_TIME = re.compile(
    r"\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(?:\.\d+)?(?:[Zz]|[+-]\d\d:\d\d)", re.ASCII
)


def is_date_time(text: object) -> bool:
    """True for an RFC 3339 date-time (``2024-05-01T12:00:00.000Z``), the schema's
    ``format: date-time``; other types are left to ``type``."""
    if not isinstance(text, str):
        return True
    if _DATE_TIME.fullmatch(text) is None:
        return False
    try:  # the ranges: no month 13, no 25 o'clock (Python 3.10 does not read a Z)
        datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


@functools.cache
def _report_validator() -> Any:
    """The report schema's validator with ``format: date-time`` enforced (jsonschema
    only annotates formats unless told to check them)."""
    from jsonschema import FormatChecker

    formats = FormatChecker(formats=())
    formats.checks("date-time")(is_date_time)
    return validator("report").evolve(format_checker=formats)


def validate_report(doc: Mapping[str, Any]) -> list[str]:
    """Schema errors of a report document as ``$.path: message`` lines; empty when valid."""
    errors = _report_validator().iter_errors(doc)
    return [f"{e.json_path}: {e.message}" for e in sorted(errors, key=lambda e: e.json_path)]


def _non_finite(value: Any, path: str = "$") -> str | None:
    """The JSON path of the first NaN or infinity in ``value``, if any."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"{path} is {value}"
    items: Iterable[tuple[Any, Any]] = ()
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    for key, item in items:
        found = _non_finite(item, f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}")
        if found:
            return found
    return None


class JsonReporter(Reporter):
    """The JSON report document, indented; strict JSON (no NaN or Infinity), else refused."""

    def render(self, report: Mapping[str, Any], redactor: Redactor, stream: TextIO) -> None:
        """The bytes of ``json.dumps(report, indent=2, ensure_ascii=False)``, a call at a time.

        A run's calls are rendered to text one by one (each call's document is
        dropped once it is text), so the report of a large run never holds every
        call as Python objects, as the whole document would (half of a 20,000-call
        run's peak memory), nor its whole text: the calls go to a temporary file
        and are copied after the head.  Still rendered whole before the first byte
        goes out: a refusal writes nothing.
        """
        marker = f"callspec-calls-{uuid.uuid4().hex}"
        calls = report["calls"]
        doc = {key: marker if key == "calls" else value for key, value in report.items()}
        head, tail = _dumps(doc, "$").split(f'"{marker}"')
        if not calls:
            stream.write(f"{head}[]{tail}\n")
            return
        with tempfile.TemporaryFile("w+", encoding="utf-8") as text:
            for index, call in enumerate(calls):
                dumped = _dumps(call, f"$.calls[{index}]")
                text.write(("[\n" if index == 0 else ",\n") + _indent(dumped, "    "))
            text.write("\n  ]")
            text.seek(0)
            stream.write(head)
            shutil.copyfileobj(text, stream, 1 << 16)
        stream.write(tail + "\n")


def _dumps(value: Any, path: str) -> str:
    """``value`` as indented JSON text; as :func:`~callspec.report.document.report_document`
    would have it: a lone surrogate (kept as it is by ``ensure_ascii=False``) spelled out."""
    try:
        text = json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False)
    except ValueError as e:
        where = _non_finite(value, path) or str(e)
        raise ReportError(f"the report would not be valid JSON: {where}") from e
    if has_surrogate(text):  # rare: one scan of the text, not a walk of every value
        text = json.dumps(utf8_safe_value(value), indent=2, ensure_ascii=False)
    return escape_raw(text)


_RAW = re.compile(f"[\x7f-\x9f\u2028\u2029]|{BIDI.pattern}")


def escape_raw(text: str) -> str:
    """JSON text with what ``json.dumps`` leaves raw and a viewer would act on (C1
    controls, line separators, bidi overrides) as ``\\u`` escapes: the same value to a
    JSON reader, inert to a person's."""
    return _RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", text) if _RAW.search(text) else text


def _indent(text: str, prefix: str) -> str:
    """``text`` with ``prefix`` before each line (JSON escapes newlines inside strings)."""
    return prefix + text.replace("\n", "\n" + prefix)
