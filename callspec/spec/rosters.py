"""Reading a roster into rows: a ``.csv`` file with a header row, a ``.json`` or
``.yaml``/``.yml`` file holding a list of mappings, or an inline list of mappings.

This module owns the :class:`Row` (its fields and the line it was written on) and
turning a roster's text into rows; a data file is read by the loader's own reader
(UTF-8, at most 8 MiB, a regular file).  Every problem is a
:class:`~callspec.errors.Problem` at the data file's line, kept in a bounded
:class:`~callspec.spec.problems.Found`, so all bad rows are reported in one pass
and a roster of 200,000 bad rows is not held twice.  expand.py picks the rows a
call keeps and names each one.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from callspec.errors import Location, Problem, SpecError, line_col
from callspec.spec.loader import Document, decode, describe, format_path, load_bytes, read_limited
from callspec.spec.model import RowOrigin
from callspec.spec.problems import Found
from callspec.spec.templates import Columns


@dataclass(frozen=True, slots=True)
class Row:
    """One row of a roster: its fields and where it was written."""

    #: 0-based position among the roster's rows (before ``each_where:``).
    index: int
    #: The row's first line: in the data file, or in the spec for an inline list.
    location: Location
    values: Mapping[str, Any] = field(repr=False)
    #: The roster's column names (a CSV's header; the keys seen in a list of mappings).
    columns: tuple[str, ...] = ()
    #: Where its fields are described in messages: ``specs/oncall.csv`` or ``each:``.
    source: str = ""
    #: Why this row's call is held back, not placed (a person in quiet hours); None: placed.
    held: str | None = None

    @property
    def number(self) -> int:
        """The row's number as people count: 1 for the first row after the header."""
        return self.index + 1

    @property
    def origin(self) -> RowOrigin:
        """What an expanded call keeps of its row."""
        return RowOrigin(self.location.file, self.location.line, self.number)

    def scope(self) -> Columns:
        """The row as templates see it: ``row.<column>`` and ``row.index``."""
        return Columns({**self.values, "index": self.index}, self.source, self.columns)


INDEX_CLASH = (
    "a column named 'index' would be hidden by row.index (the row's position, from 0): "
    "rename the column"
)


def inline_rows(
    doc: Document, base: tuple[str | int, ...], items: list[Any]
) -> tuple[list[Row], list[Problem]]:
    columns: dict[str, None] = {}
    rows: list[Row] = []
    for i, item in enumerate(items):
        if isinstance(item, dict):
            if "index" in item:
                path = format_path((*base, i, "index"))
                return [], [Problem(doc.where_key((*base, i, "index")), path, INDEX_CLASH)]
            columns.update(dict.fromkeys(item))
            rows.append(Row(i, doc.where((*base, i)), item, source="each:"))
    names = tuple(columns)
    return [Row(r.index, r.location, r.values, names, r.source) for r in rows], []


def read_text(path: Path, display: str) -> str:
    """The UTF-8 text of a data file, under a spec file's limits (the loader's own)."""
    return decode(read_limited(path, display, "a data file"), display)


def file_rows(path: Path, display: str) -> tuple[list[Row], Found]:
    found = Found()
    try:
        if path.suffix.lower() == ".csv":
            rows = _csv_rows(read_text(path, display), display, found)
        elif path.suffix.lower() == ".json":
            rows = _json_rows(read_text(path, display), display, found)
        else:
            text = read_text(path, display)
            rows = _yaml_rows(load_bytes(text.encode(), display), display, text, found)
    except SpecError as e:
        found.extend(e.problems)
        return [], found
    return rows, found


def _csv_rows(text: str, display: str, found: Found) -> list[Row]:
    def at(line: int, message: str) -> Problem:
        return Problem(Location(display, line, 1), "", message)

    reader = csv.reader(io.StringIO(text, newline=""), strict=True)

    def records() -> Iterator[tuple[int, list[str]]]:
        """(first line, fields) of each record; a blank line is no row.  Read as the rows
        are made, so a roster of 8 MiB is never held twice."""
        while True:
            start = reader.line_num + 1
            try:
                record = next(reader)
            except StopIteration:
                return
            if record:
                yield start, record

    try:
        lines = records()
        first = next(lines, None)
        if first is None:
            found.add(at(1, "file is empty: expected a header row, then one row per call"))
            return []
        header_line, header = first
        problems = _header_problems(header, lambda message: at(header_line, message))
        columns = tuple(header)
        rows: list[Row] = []
        count = 0
        for index, (line, record) in enumerate(lines):
            count += 1
            if problems:
                continue  # read to the end all the same: a CSV error is said alone
            if len(record) != len(header):
                message = (
                    f"row {index + 1} has {len(record)} fields, the header {len(header)} "
                    f"({', '.join(columns)})"
                )
                found.add(at(line, message))  # kept up to a bound, the rest counted
                continue
            values = dict(zip(header, record, strict=True))
            rows.append(Row(index, Location(display, line, 1), values, columns, display))
    except csv.Error as e:
        found.add(at(reader.line_num, f"CSV error: {e}"))
        return []
    if count == 0:
        problems.append(at(header_line, "the file has a header row but no rows"))
    if problems:
        found.extend(problems)
        return []
    return rows


def _header_problems(header: list[str], at: Callable[[str], Problem]) -> list[Problem]:
    """What is wrong with a CSV header: a column without a name, named twice, or ``index``."""
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, column in enumerate(header, start=1):
        if not column.strip():
            problems.append(at(f"column {i} of the header has no name"))
        elif column in seen:
            problems.append(at(f"column '{column}' is named twice in the header"))
        elif column == "index":
            problems.append(at(INDEX_CLASH))
        seen.add(column)
    return problems


_WS = " \t\r\n"


def _json_rows(text: str, display: str, found: Found) -> list[Row]:
    def at(offset: int, message: str) -> Problem:
        return Problem(Location(display, *line_col(text, offset)), "", message)

    decoder = json.JSONDecoder(object_pairs_hook=_unique_keys, parse_int=_int)
    items: list[tuple[int, Any]] = []
    i = _skip(text, 0)
    if i == len(text):
        found.add(at(0, "file is empty: expected a list of mappings, one per call"))
        return []
    if text[i] != "[":
        found.add(at(i, "expected a list of mappings ('[' ...), one per call"))
        return []
    i = _skip(text, i + 1)
    try:
        while i < len(text) and text[i] != "]":
            value, end = decoder.raw_decode(text, i)
            items.append((i, value))
            i = _skip(text, end)
            if i < len(text) and text[i] == ",":
                i = _skip(text, i + 1)
            elif i < len(text) and text[i] != "]":
                found.add(at(i, "JSON syntax error: expected ',' or ']'"))
                return []
    except json.JSONDecodeError as e:
        found.add(at(e.pos, f"JSON syntax error: {e.msg}"))
        return []
    except _BadValue as e:
        found.add(at(i, f"row {len(items) + 1}: {e}"))
        return []
    except RecursionError:
        message = f"row {len(items) + 1} is nested too deeply (a row maps columns to values)"
        found.add(at(i, message))
        return []
    if i >= len(text):
        found.add(at(len(text), "JSON syntax error: the list is not closed with ']'"))
        return []
    if _skip(text, i + 1) != len(text):
        found.add(at(_skip(text, i + 1), "JSON syntax error: text after the list"))
        return []
    spots = [(at(offset, "").location, value) for offset, value in items]
    return _mapping_rows(spots, display, found)


class _BadValue(ValueError):
    """A JSON value a row may not hold: a key written twice, a number too long."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refused when it names a key twice (JSON would keep the last)."""
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _BadValue(f"column '{key}' is named twice")
        found[key] = value
    return found


def _int(text: str) -> int:
    """A JSON integer; Python reads one of at most 4300 digits."""
    try:
        return int(text)
    except ValueError:
        raise _BadValue(f"a number of {len(text):,} characters is too long") from None


def _skip(text: str, i: int) -> int:
    while i < len(text) and text[i] in _WS:
        i += 1
    return i


def _yaml_rows(doc: Document, display: str, text: str, found: Found) -> list[Row]:
    if not isinstance(doc.data, list):
        found.add(Problem(doc.where(()), "", "expected a list of mappings, one per call"))
        return []
    lines = text.splitlines()
    for i, row in enumerate(doc.data):
        if isinstance(row, dict):
            for key, value in row.items():
                if isinstance(value, bool):
                    row[key] = _as_written(value, doc.where((i, key)), lines)
    return _mapping_rows([(doc.where((i,)), v) for i, v in enumerate(doc.data)], display, found)


_WORD = re.compile(r"[A-Za-z]+")


def _as_written(value: bool, where: Location, lines: list[str]) -> bool | str:
    """A YAML boolean as a row holds it: ``true``/``false`` stay booleans; YAML 1.1's
    other spellings (``NO``, ``yes``, ``on``, ``off``: a country code, a word) stay the
    text written, as in a CSV roster."""
    line = lines[where.line - 1] if 0 < where.line <= len(lines) else ""
    word = _WORD.match(line, max(where.column - 1, 0))
    if word is None or word.group().lower() in ("true", "false"):
        return value
    return word.group()


def _mapping_rows(items: list[tuple[Location, Any]], display: str, found: Found) -> list[Row]:
    if not items:
        message = "the list is empty: expected one mapping per call"
        found.add(Problem(Location(display, 1, 1), "", message))
        return []
    mappings = True
    for i, (where, value) in enumerate(items):
        if not isinstance(value, dict):
            message = f"row {i + 1} is {describe(value)}, not a mapping of column to value"
            found.add(Problem(where, "", message))  # kept up to a bound, the rest counted
            mappings = False
    if not mappings:
        return []
    clash = next((where for where, value in items if "index" in value), None)
    if clash is not None:
        found.add(Problem(clash, "", INDEX_CLASH))
        return []
    columns: dict[str, None] = {}
    for _, value in items:
        columns.update(dict.fromkeys(str(k) for k in value))
    names = tuple(columns)
    return [Row(i, where, value, names, display) for i, (where, value) in enumerate(items)]
