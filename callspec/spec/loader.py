"""Load YAML files into plain Python values, keeping where every value was written.

The loader owns the first stage of the flow: bytes on disk to a :class:`Document`
holding plain data (dicts, lists, str, int, float, bool, None) and a map from
each value's path to its :class:`~callspec.errors.Location`.  It is strict
where PyYAML is lenient: duplicate keys, several documents in one file,
non-string keys, binary tags and alias bombs are errors with a position, and
no input, however broken, escapes as anything but a :class:`SpecError`.

Longer than most: the event-based builder, its positions and its refusals
(duplicate keys, alias bombs, depth, size, bytes) are one state machine over
libyaml's events, which reads best in one place.
"""

from __future__ import annotations

import datetime
import errno
import os
import stat
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from callspec.errors import Location, Problem, SpecError, line_col

Path_ = tuple[str | int, ...]

MAX_FILE_BYTES = 8 * 1024 * 1024
#: Tag resolutions remembered (then the memo starts over: a spec of 20,000 distinct
#: numbers must not keep them all; the values that recur are back within a few calls).
TAG_MEMO_MAX = 8192
MAX_NODES = 2_000_000
_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[misc]
    """libyaml's composer (about ten times PyYAML's speed) with a memo of tag resolution.

    Resolving a plain scalar's tag runs a list of regular expressions in Python;
    in a file of thousands of calls the same keys and values recur, so the answer
    is remembered per (kind, text, implicit) for the process (a fast path measured
    by ``bench/bench_validate.py``; ``tests/spec/test_loader.py`` checks its bound).
    """

    _memo: dict[tuple[Any, Any, Any], str] = {}  # noqa: RUF012 - a process-wide cache

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        key = (kind, value, implicit)
        tag = self._memo.get(key)
        if tag is None:
            tag = super().resolve(kind, value, implicit)
            if len(self._memo) >= TAG_MEMO_MAX:
                self._memo.clear()
            self._memo[key] = tag
        return tag


_STR_TAG = "tag:yaml.org,2002:str"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MAP_TAG = "tag:yaml.org,2002:map"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
MAX_DEPTH = 100
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_PLAIN_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}


class WrittenInt(int):
    """An integer that remembers how it was written (``+14152223333`` keeps its '+').

    Arithmetic and JSON treat it as the int it is; ``str()`` gives the source
    text, so a phone number written without quotes renders as written.
    """

    text: str

    def __new__(cls, value: int, text: str) -> WrittenInt:
        self = super().__new__(cls, value)
        self.text = text
        return self

    def __str__(self) -> str:
        return self.text


class WrittenFloat(float):
    """A float that remembers how it was written (``1.0e+3``), for messages about it."""

    text: str

    def __new__(cls, value: float, text: str) -> WrittenFloat:
        self = super().__new__(cls, value)
        self.text = text
        return self


@dataclass(frozen=True)
class Document:
    """One loaded YAML file: its data and where each value and key stands."""

    file: str
    data: Any
    #: Line and column of each value and key, by path, packed into one int (see
    #: :func:`_pack`: a file of 20,000 calls holds 280,000 of them while it is
    #: planned); Locations are made on demand.
    values: Mapping[Path_, int] = field(repr=False)
    keys: Mapping[Path_, int] = field(repr=False)

    def where(self, path: Path_) -> Location:
        """The location of the value at ``path``, or of its nearest ancestor."""
        while path:
            pos = self.values.get(path)
            if pos is not None:
                return Location(self.file, *_unpack(pos))
            path = path[:-1]
        return Location(self.file, *_unpack(self.values.get((), _pack(1, 1))))

    def where_key(self, path: Path_) -> Location:
        """The location of the key that holds ``path`` (falls back to the value)."""
        pos = self.keys.get(path)
        return Location(self.file, *_unpack(pos)) if pos is not None else self.where(path)


def _pack(line: int, column: int) -> int:
    """A position as one int (32 bytes, where a tuple of two ints takes about 110)."""
    return line << 32 | column


def _unpack(pos: int) -> tuple[int, int]:
    return pos >> 32, pos & 0xFFFFFFFF


def format_path(path: Path_) -> str:
    """``("calls", 0, "to")`` -> ``calls[0].to``; a key of megabytes is cut short."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            if len(part) > _MAX_KEY_SHOWN:
                part = f"{part[:_MAX_KEY_SHOWN]}…"
            out += f".{part}" if out else part
    return out


_MAX_KEY_SHOWN = 60


def load_file(path: Path, display: str | None = None) -> Document:
    """Read and parse ``path``; raise :class:`SpecError` with a position on any defect."""
    name = display if display is not None else str(path)
    return load_bytes(read_limited(path, name, "a spec or profiles file"), name)


def read_limited(path: Path, name: str, kind: str) -> bytes:
    """The bytes of a regular file of at most :data:`MAX_FILE_BYTES`; ``kind`` names the file
    in the message (``a data file``).  Every file callspec reads as input passes here."""

    def refuse(message: str) -> SpecError:
        return SpecError([_problem(name, 1, 1, message)])

    limit = f"the {MAX_FILE_BYTES >> 20} MiB limit for {kind}"
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise refuse("not a regular file (a folder, a device or a pipe)")
        if info.st_size > MAX_FILE_BYTES:
            raise refuse(f"file is {info.st_size / (1 << 20):.1f} MiB, larger than {limit}")
        with path.open("rb") as f:
            # At most one byte more than the limit: a file that lies about its size
            # (/proc, a growing log) cannot make callspec read without end.
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        why = _LOOP if e.errno == errno.ELOOP else e.strerror or e
        raise SpecError([_problem(name, 0, 0, f"cannot read file: {why}")]) from e
    if len(raw) > MAX_FILE_BYTES:
        raise refuse(f"file is larger than {limit}")
    return raw


def decode(raw: bytes, name: str) -> str:
    """UTF-8 text (a byte order mark dropped); a byte that is not UTF-8 is located."""
    raw = raw.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte order mark
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        before = raw[: e.start].decode("utf-8")  # valid up to the bad byte
        line, col = line_col(before, len(before))
        msg = f"not UTF-8 text: byte 0x{raw[e.start]:02x} cannot be decoded (save it as UTF-8)"
        raise SpecError([_problem(name, line, col, msg)]) from e


_LOOP = "it is a symlink loop (too many levels of symbolic links)"


def is_symlink_loop(path: Path) -> bool:
    """True when following ``path`` never ends: a link to itself, or links round in a ring."""
    try:
        os.stat(path)
    except OSError as e:
        return e.errno == errno.ELOOP
    return False


def resolved(path: Path) -> Path:
    """``path.resolve()``, or the absolute path of a symlink loop (which resolves to nothing)."""
    try:
        return path.resolve()
    except (RuntimeError, OSError):  # RuntimeError up to Python 3.12, OSError since
        return path.absolute()


def load_bytes(raw: bytes, name: str) -> Document:
    """Parse YAML bytes (UTF-8, with or without BOM) into a :class:`Document`."""
    text = decode(raw, name)
    loader: Any = _Loader(text)
    builder = _Builder(name, loader)
    try:
        data = builder.document()
    except _TooDeep:
        data = None
    except yaml.reader.ReaderError as e:
        line, col = line_col(text, e.position)
        code = e.character if isinstance(e.character, int) else ord(str(e.character)[:1] or "\0")
        msg = f"character U+{code:04X} is not allowed in YAML ({e.reason})"
        raise SpecError([_problem(name, line, col, msg)]) from e
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = " ".join(x for x in (e.problem, e.context) if x) or "invalid YAML"
        raise SpecError([_problem(name, line, col, f"YAML syntax error: {what}")]) from e
    except yaml.YAMLError as e:
        raise SpecError([_problem(name, 1, 1, f"YAML error: {e}")]) from e
    finally:
        loader.dispose()
    if builder.problems:
        raise SpecError(builder.problems)
    return Document(name, data, builder.values, builder.keys)


def _problem(name: str, line: int, col: int, message: str, path: str = "") -> Problem:
    return Problem(Location(name, line, col), path, message)


class _Builder:
    """Builds plain data and position maps straight from libyaml's event stream.

    Working on events rather than composed nodes avoids building (and walking) a
    node tree: about five times faster on a file of 10,000 calls.
    """

    def __init__(self, name: str, loader: Any) -> None:
        self.name = name
        self.loader = loader
        self.values: dict[Path_, int] = {}
        self.keys: dict[Path_, int] = {}
        self.problems: list[Problem] = []
        self.count = 0
        self.anchors: dict[str, tuple[Any, int]] = {}  # anchor -> (value, size)

    @staticmethod
    def _pos(event: Any) -> tuple[int, int]:
        mark = event.start_mark
        return (mark.line + 1, mark.column + 1)

    def _fail(self, event: Any, path: Path_, message: str) -> None:
        location = Location(self.name, *self._pos(event))
        self.problems.append(Problem(location, format_path(path), message))

    def document(self) -> Any:
        """The single document of the stream."""
        get = self.loader.get_event
        get()  # StreamStart
        start = get()
        if isinstance(start, yaml.StreamEndEvent):
            self._fail(start, (), "file is empty: expected a mapping")
            return None
        event = get()
        data, _ = self.node(event, (), 0)
        get()  # DocumentEnd
        extra = get()
        if isinstance(extra, yaml.DocumentStartEvent):
            self._fail(extra, (), "expected a single document, found another one ('---')")
        return data

    def node(self, event: Any, path: Path_, depth: int) -> tuple[Any, int]:
        """Build the value that starts with ``event``; return it and its size in nodes."""
        if depth > MAX_DEPTH:
            self._fail(event, path[:3], f"nesting deeper than {MAX_DEPTH} levels")
            raise _TooDeep
        mark = event.start_mark
        self.values[path] = (mark.line + 1) << 32 | (mark.column + 1)  # _pack, inlined
        kind = type(event)
        if kind is yaml.ScalarEvent:  # the common case first: most nodes are scalars
            value, size = self._scalar(event, path), 1
        elif kind is yaml.AliasEvent:
            if event.anchor not in self.anchors:
                self._fail(event, path, f"undefined alias *{event.anchor}")
            value, size = self.anchors.get(str(event.anchor), (None, 1))
        elif kind is yaml.SequenceStartEvent:
            value, size = self._sequence(event, path, depth)
        else:
            value, size = self._mapping(event, path, depth)
        self.count += size
        if self.count > MAX_NODES:
            self._fail(event, path, f"document has more than {MAX_NODES} values (alias bomb?)")
            raise _TooDeep
        anchor = event.anchor
        if anchor is not None and kind is not yaml.AliasEvent:
            self.anchors[anchor] = (value, size)
        return value, size

    def _scalar(self, event: Any, path: Path_) -> Any:
        tag = event.tag
        if tag is None or tag == "!":
            if not event.implicit[0]:
                return event.value  # quoted, untagged: a string
            tag = self.loader.resolve(yaml.ScalarNode, event.value, event.implicit)
        if tag == _STR_TAG:
            return event.value
        if tag == _TIMESTAMP_TAG:
            return str(event.value)
        if tag in _PLAIN_TAGS:
            # The tag's constructor function itself: construct_object() would keep
            # every node it ever built in a cache.
            construct = _CONSTRUCTOR.yaml_constructors[tag]
            try:
                value = construct(_CONSTRUCTOR, yaml.ScalarNode(tag, event.value))
            except ValueError:  # Python reads an integer of at most 4300 digits
                self._fail(event, path, f"a number of {len(event.value):,} characters is too long")
                return None
            if type(value) is int:
                return WrittenInt(value, event.value)
            return WrittenFloat(value, event.value) if type(value) is float else value
        self._fail(event, path, f"unsupported YAML tag {tag}: use a plain string, number or bool")
        return None

    def _check_tag(self, event: Any, path: Path_, allowed: str) -> None:
        if event.tag not in (None, "!", allowed):
            self._fail(event, path, f"unsupported YAML tag {event.tag}")

    def _sequence(self, event: Any, path: Path_, depth: int) -> tuple[list[Any], int]:
        self._check_tag(event, path, _SEQ_TAG)
        get = self.loader.get_event
        items: list[Any] = []
        size = 1
        while not isinstance(child := get(), yaml.SequenceEndEvent):
            value, n = self.node(child, (*path, len(items)), depth + 1)
            items.append(value)
            size += n
        return items, size

    def _mapping(self, event: Any, path: Path_, depth: int) -> tuple[dict[str, Any], int]:
        self._check_tag(event, path, _MAP_TAG)
        get = self.loader.get_event
        out: dict[str, Any] = {}
        merged: list[Any] = []
        size = 1
        while not isinstance(key_event := get(), yaml.MappingEndEvent):
            if not isinstance(key_event, yaml.ScalarEvent):
                self._fail(key_event, path, "a key must be a plain string, not a list or mapping")
                self._skip(key_event)
                self._skip(get())
                continue
            value_event = get()
            key = sys.intern(str(key_event.value))  # one string per key name, not per call
            if key == "<<" and key_event.implicit[0]:
                value, n = self.node(value_event, path, depth + 1)
                merged.extend(value if isinstance(value, list) else [value])
                size += n
                continue
            child = (*path, key)
            if key in out:
                first_line = _unpack(self.keys[child])[0]
                self._fail(
                    key_event,
                    child,
                    f"duplicate key '{key}' (first written at line {first_line}); "
                    "YAML keeps only the last, so callspec refuses both",
                )
                self._skip(value_event)
                continue
            self.keys[child] = _pack(*self._pos(key_event))
            out[key], n = self.node(value_event, child, depth + 1)
            size += n
        for source in merged:
            if not isinstance(source, dict):
                self._fail(event, path, "'<<' merges only mappings")
                continue
            for key, value in source.items():
                out.setdefault(key, value)
        return out, size

    def _skip(self, event: Any) -> None:
        """Consume the rest of a node that is not kept."""
        if isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
            level = 1
            while level:
                nxt = self.loader.get_event()
                if isinstance(nxt, yaml.SequenceStartEvent | yaml.MappingStartEvent):
                    level += 1
                elif isinstance(nxt, yaml.SequenceEndEvent | yaml.MappingEndEvent):
                    level -= 1


class _TooDeep(Exception):
    """Stops building a document that is too deep or too large (already reported)."""


def describe(value: Any) -> str:
    """A short name of a value's type for messages ('a list', 'a string')."""
    names: list[tuple[type, str]] = [
        (bool, "a boolean"),
        (int, "an integer"),
        (float, "a number"),
        (str, "a string"),
        (list, "a list"),
        (dict, "a mapping"),
        (datetime.date, "a date"),
    ]
    if value is None:
        return "null"
    for typ, name in names:
        if isinstance(value, typ):
            return name
    return type(value).__name__
