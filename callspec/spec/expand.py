"""Expanding a call with ``each:`` into one call per row of a roster.

This module owns the expansion step between resolving a spec and rendering its
calls: reading a call's rows (a ``.csv`` file with a header row, a ``.json`` or
``.yaml``/``.yml`` file holding a list of mappings, or an inline list of
mappings), keeping the line each row was written on, picking rows with
``each_where:`` and rendering each row's call name.  A data file is read under
the rules of a spec file (UTF-8, at most 8 MiB, a regular file) and must stay
inside the spec's git work tree (else the spec's folder).  Every problem of a
roster is a :class:`~callspec.errors.Problem` at the data file's line, so all
bad rows are reported in one pass.
"""

from __future__ import annotations

__all__ = ["Expander", "Row", "is_spec_error", "is_syntax_error", "row_label"]

import csv
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callspec.errors import Location, Problem, SpecError
from callspec.spec.budget import FileClock
from callspec.spec.files import display_path
from callspec.spec.loader import (
    MAX_FILE_BYTES,
    Document,
    describe,
    format_path,
    load_bytes,
    resolved,
)
from callspec.spec.model import RowOrigin
from callspec.spec.templates import Columns, RenderError, render_text
from callspec.text import CONTROL

if TYPE_CHECKING:
    from callspec.oncall.rows import Schedules

DATA_SUFFIXES = (".csv", ".json", ".yaml", ".yml")
CALENDAR_SUFFIXES = (".ics",)


@dataclass(frozen=True)
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


_INDEX_CLASH = (
    "a column named 'index' would be hidden by row.index (the row's position, from 0): "
    "rename the column"
)


def _hint(condition: object) -> str:
    """What to say when ``each_where:`` was written as a template, the natural slip."""
    text = str(condition)
    if "{{" in text or "{%" in text:
        return (
            "; each_where is an expression, not a template: write it without "
            "{{ }} (each_where: \"row.team == 'payments'\")"
        )
    return ""


def is_syntax_error(error: RenderError | str) -> bool:
    """A template that does not parse: wrong in the spec, whatever the row."""
    return str(error).startswith("template syntax error")


_MISSING = re.compile(r"column '(.*)' is not in .* \(its columns: ")


def is_spec_error(error: RenderError | str, row: Row) -> bool:
    """A template wrong whatever the row: it does not parse, or it reads a column the
    roster has in no row (a typo in the spec).  Reported once, at the spec's line."""
    if is_syntax_error(error):
        return True
    missing = _MISSING.search(str(error))
    return missing is not None and missing.group(1) not in row.columns


def row_label(row: Row, name: str, spec_file: str) -> str:
    """What follows a path in a message: ``(call 'page-carol', row 3 in specs/roster.yaml)``."""
    return f"(call '{name}', row {row.number} in {spec_file})"


class Expander:
    """Reads rosters for the calls of a run; each data file is read once per run."""

    def __init__(self, env: Mapping[str, str], clock: FileClock | None = None) -> None:
        self.env = env
        self.clock = clock
        self._files: dict[Path, tuple[list[Row], list[Problem]]] = {}
        #: The rotations the current spec sees (``each:`` mappings); the plan sets it.
        self.schedules: Schedules | None = None

    def rows(
        self, doc: Document, spec_path: Path, index: int, call: Mapping[str, Any]
    ) -> tuple[list[Row], list[Problem]]:
        """The rows of ``calls[index]`` that ``each_where:`` keeps, and every problem found."""
        base = ("calls", index, "each")
        each = call["each"]
        if isinstance(each, list):
            rows, problems = _inline_rows(doc, base, each)
        elif isinstance(each, dict):
            rows, problems = self._scheduled(doc, spec_path, index, call)
        else:
            where = doc.where(base)
            data = _data_path(spec_path, str(each), where, f"calls[{index}].each")
            if isinstance(data, Problem):
                return [], [data]
            key = resolved(data)
            if key not in self._files:
                self._files[key] = _file_rows(data, display_path(data))
            rows, problems = self._files[key]
            problems = [_with_path(p, f"calls[{index}].each") for p in problems]
        if not rows:
            return [], problems
        condition = call.get("each_where")
        if condition is None:
            return rows, problems
        kept: list[Row] = []
        issues = list(problems)
        template = "{% if " + str(condition) + " %}1{% endif %}"
        for row in rows:
            try:
                if render_text(template, self.scope(row), self.clock):
                    kept.append(row)
            except RenderError as e:
                path = f"calls[{index}].each_where"
                if is_spec_error(e, row):  # the same for every row: the spec's, once
                    where = doc.where(("calls", index, "each_where"))
                    return [], [*problems, Problem(where, path, str(e) + _hint(condition))]
                name = self.name(doc, index, call, row)
                shown = name if isinstance(name, str) else str(call["name"])
                label = row_label(row, shown, doc.file)
                issues.append(Problem(row.location, f"{path} {label}", str(e)))
        return kept, issues

    # -- each: {rotation: ...} / {ical: ...}: who is on call, from callspec.oncall ------

    def _scheduled(
        self, doc: Document, spec_path: Path, index: int, call: Mapping[str, Any]
    ) -> tuple[list[Row], list[Problem]]:
        """The rows of an ``each:`` mapping: the people a schedule has on call."""
        schedules = self.schedules
        if schedules is None:  # a library caller that gave no rotations
            where = doc.where(("calls", index, "each"))
            return [], [Problem(where, f"calls[{index}].each", "no rotations are known here")]

        def read(written: str, where: Location, path: str) -> tuple[str, str] | Problem:
            if written.lower().startswith(("http://", "https://")):
                # A feed URL is fetched through the project's one network layer (bounded
                # in size and time), which this build does not have yet: said, not guessed.
                message = (
                    "calendar URLs are not read yet (they wait for callspec's network "
                    "layer): save the feed as an .ics file beside the spec"
                )
                return Problem(where, path, message)
            found = _data_path(spec_path, written, where, path, CALENDAR_SUFFIXES)
            if isinstance(found, Problem):
                return found
            shown = display_path(found)
            try:
                return _read(found, shown), shown
            except SpecError as e:
                return e.problems[0]

        schedules.read_calendar = read
        return schedules.rows(doc, index, call)

    def scope(self, row: Row) -> dict[str, Any]:
        """What ``name:`` and ``each_where:`` see: the row and the environment."""
        return {"row": row.scope(), "env": self.env}

    def name(self, doc: Document, index: int, call: Mapping[str, Any], row: Row) -> str | Problem:
        """The call's name rendered for ``row``, or the problem that stops it."""
        path = f"calls[{index}].name {row_label(row, str(call['name']), doc.file)}"
        try:
            name = render_text(str(call["name"]), self.scope(row), self.clock)
        except RenderError as e:
            if is_spec_error(e, row):  # the same for every row: the spec's, once
                return Problem(doc.where(("calls", index, "name")), f"calls[{index}].name", str(e))
            return Problem(row.location, path, str(e))
        if not name or name != name.strip():
            shown = json.dumps(name)
            message = (
                f"renders to {shown}: a call name must not be blank or begin or end with spaces"
            )
            return Problem(row.location, path, message)
        if CONTROL.search(name):
            # A name is printed on terminals, in logs and progress lines: a row's escape
            # sequence or line break there could recolour a terminal or forge a line.
            shown = json.dumps(name)
            message = (
                f"renders to {shown}: a call name must not hold control characters "
                "(line breaks, tabs, escape sequences)"
            )
            return Problem(row.location, path, message)
        return name


def _data_path(
    spec_path: Path,
    written: str,
    where: Location,
    path: str,
    suffixes: tuple[str, ...] = DATA_SUFFIXES,
) -> Path | Problem:
    """The data file ``written`` in a spec, when it is allowed; else the problem."""
    suffix = Path(written).suffix.lower()
    if suffix not in suffixes:
        message = (
            f"'{written}' is not a roster this reads: give a .csv (with a header row), "
            ".json or .yaml/.yml file, or an inline list of mappings"
        )
        if suffixes == CALENDAR_SUFFIXES:
            message = f"'{written}' is not a calendar this reads: give an .ics file or a URL"
        return Problem(where, path, message)
    data = spec_path.parent / written
    shown = written if len(written) <= 80 else written[:60] + "..." + written[-16:]
    try:
        # The spec's folder as given: a symlinked spec reads rosters beside the link,
        # as it finds its profiles file, and they must lie inside the link's tree.
        root = _root(spec_path.parent)
        full = resolved(data)
        if not full.is_relative_to(root):
            what = "git work tree" if (root / ".git").exists() else "folder"
            message = f"'{shown}' is outside the spec's {what} ({root}): a roster must be inside it"
            return Problem(where, path, message)
        if not full.exists():
            message = f"no such data file: '{shown}' (relative to the spec's folder)"
            return Problem(where, path, message)
    except ValueError:  # a NUL byte
        return Problem(where, path, f"'{json.dumps(shown)[1:-1]}' is not a usable path")
    except OSError as e:
        why = e.strerror or str(e)
        return Problem(where, path, f"'{shown}' is not a usable path: {why}")
    return data


def _root(spec_folder: Path) -> Path:
    """The spec's git work tree, else its folder."""
    folder = resolved(spec_folder)
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return folder


def _with_path(problem: Problem, path: str) -> Problem:
    return problem if problem.path else Problem(problem.location, path, problem.message)


def _inline_rows(
    doc: Document, base: tuple[str | int, ...], items: list[Any]
) -> tuple[list[Row], list[Problem]]:
    columns: dict[str, None] = {}
    rows: list[Row] = []
    for i, item in enumerate(items):
        if isinstance(item, dict):
            if "index" in item:
                path = format_path((*base, i, "index"))
                return [], [Problem(doc.where_key((*base, i, "index")), path, _INDEX_CLASH)]
            columns.update(dict.fromkeys(item))
            rows.append(Row(i, doc.where((*base, i)), item, source="each:"))
    names = tuple(columns)
    return [Row(r.index, r.location, r.values, names, r.source) for r in rows], []


def _read(path: Path, display: str) -> str:
    """The UTF-8 text of a data file, under a spec file's limits."""

    def refuse(line: int, col: int, message: str) -> SpecError:
        return SpecError([Problem(Location(display, line, col), "", message)])

    limit = f"the {MAX_FILE_BYTES >> 20} MiB limit for a data file"
    try:
        if not path.is_file():
            raise refuse(1, 1, "not a regular file (a folder, a device or a pipe)")
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise refuse(1, 1, f"file is {size / (1 << 20):.1f} MiB, larger than {limit}")
        with path.open("rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise refuse(1, 1, f"cannot read file: {e.strerror or e}") from e
    if len(raw) > MAX_FILE_BYTES:
        raise refuse(1, 1, f"file is larger than {limit}")
    raw = raw.removeprefix(b"\xef\xbb\xbf")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        before = raw[: e.start].decode("utf-8")
        line = before.count("\n") + 1
        col = len(before) - (before.rfind("\n") + 1) + 1
        message = f"not UTF-8 text: byte 0x{raw[e.start]:02x} cannot be decoded (save it as UTF-8)"
        raise refuse(line, col, message) from e


def _file_rows(path: Path, display: str) -> tuple[list[Row], list[Problem]]:
    try:
        if path.suffix.lower() == ".csv":
            return _csv_rows(_read(path, display), display)
        if path.suffix.lower() == ".json":
            return _json_rows(_read(path, display), display)
        text = _read(path, display)
        return _yaml_rows(load_bytes(text.encode(), display), display, text)
    except SpecError as e:
        return [], list(e.problems)


def _csv_rows(text: str, display: str) -> tuple[list[Row], list[Problem]]:
    def at(line: int, message: str) -> Problem:
        return Problem(Location(display, line, 1), "", message)

    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[tuple[int, list[str]]] = []
    try:
        while True:
            start = reader.line_num + 1
            try:
                record = next(reader)
            except StopIteration:
                break
            if record:  # a blank line is no row
                records.append((start, record))
    except csv.Error as e:
        return [], [at(reader.line_num, f"CSV error: {e}")]
    if not records:
        return [], [at(1, "file is empty: expected a header row, then one row per call")]
    header_line, header = records[0]
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, column in enumerate(header, start=1):
        if not column.strip():
            problems.append(at(header_line, f"column {i} of the header has no name"))
        elif column in seen:
            problems.append(at(header_line, f"column '{column}' is named twice in the header"))
        elif column == "index":
            problems.append(at(header_line, _INDEX_CLASH))
        seen.add(column)
    if len(records) == 1:
        problems.append(at(header_line, "the file has a header row but no rows"))
    if problems:
        return [], problems
    columns = tuple(header)
    rows: list[Row] = []
    for index, (line, record) in enumerate(records[1:]):
        if len(record) != len(header):
            message = (
                f"row {index + 1} has {len(record)} fields, the header {len(header)} "
                f"({', '.join(columns)})"
            )
            problems.append(at(line, message))
            continue
        values = dict(zip(header, record, strict=True))
        rows.append(Row(index, Location(display, line, 1), values, columns, display))
    return rows, problems


_WS = " \t\r\n"


def _json_rows(text: str, display: str) -> tuple[list[Row], list[Problem]]:
    def at(offset: int, message: str) -> Problem:
        before = text[:offset]
        line = before.count("\n") + 1
        return Problem(Location(display, line, offset - (before.rfind("\n") + 1) + 1), "", message)

    decoder = json.JSONDecoder(object_pairs_hook=_unique_keys, parse_int=_int)
    items: list[tuple[int, Any]] = []
    i = _skip(text, 0)
    if i == len(text):
        return [], [at(0, "file is empty: expected a list of mappings, one per call")]
    if text[i] != "[":
        return [], [at(i, "expected a list of mappings ('[' ...), one per call")]
    i = _skip(text, i + 1)
    try:
        while i < len(text) and text[i] != "]":
            value, end = decoder.raw_decode(text, i)
            items.append((i, value))
            i = _skip(text, end)
            if i < len(text) and text[i] == ",":
                i = _skip(text, i + 1)
            elif i < len(text) and text[i] != "]":
                return [], [at(i, "JSON syntax error: expected ',' or ']'")]
    except json.JSONDecodeError as e:
        return [], [at(e.pos, f"JSON syntax error: {e.msg}")]
    except _BadValue as e:
        return [], [at(i, f"row {len(items) + 1}: {e}")]
    except RecursionError:
        message = f"row {len(items) + 1} is nested too deeply (a row maps columns to values)"
        return [], [at(i, message)]
    if i >= len(text):
        return [], [at(len(text), "JSON syntax error: the list is not closed with ']'")]
    if _skip(text, i + 1) != len(text):
        return [], [at(_skip(text, i + 1), "JSON syntax error: text after the list")]
    spots = [(at(offset, "").location, value) for offset, value in items]
    return _mapping_rows(spots, display)


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


def _yaml_rows(doc: Document, display: str, text: str) -> tuple[list[Row], list[Problem]]:
    if not isinstance(doc.data, list):
        return [], [Problem(doc.where(()), "", "expected a list of mappings, one per call")]
    lines = text.splitlines()
    for i, row in enumerate(doc.data):
        if isinstance(row, dict):
            for key, value in row.items():
                if isinstance(value, bool):
                    row[key] = _as_written(value, doc.where((i, key)), lines)
    return _mapping_rows([(doc.where((i,)), v) for i, v in enumerate(doc.data)], display)


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


def _mapping_rows(
    items: list[tuple[Location, Any]], display: str
) -> tuple[list[Row], list[Problem]]:
    if not items:
        message = "the list is empty: expected one mapping per call"
        return [], [Problem(Location(display, 1, 1), "", message)]
    problems = [
        Problem(where, "", f"row {i + 1} is {describe(value)}, not a mapping of column to value")
        for i, (where, value) in enumerate(items)
        if not isinstance(value, dict)
    ]
    if problems:
        return [], problems
    clash = next((where for where, value in items if "index" in value), None)
    if clash is not None:
        return [], [Problem(clash, "", _INDEX_CLASH)]
    columns: dict[str, None] = {}
    for _, value in items:
        columns.update(dict.fromkeys(str(k) for k in value))
    names = tuple(columns)
    rows = [Row(i, where, value, names, display) for i, (where, value) in enumerate(items)]
    return rows, []
