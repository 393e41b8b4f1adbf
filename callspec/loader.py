"""Load YAML files into plain Python values, keeping where every value was written.

The loader owns the first stage of the flow: bytes on disk to a :class:`Document`
holding plain data (dicts, lists, str, int, float, bool, None) and a map from
each value's path to its :class:`~callspec.errors.Location`.  It is strict
where PyYAML is lenient: duplicate keys, several documents in one file,
non-string keys, binary tags and alias bombs are errors with a position, and
no input, however broken, escapes as anything but a :class:`SpecError`.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from callspec.errors import Location, Problem, SpecError

Path_ = tuple[str | int, ...]

MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_NODES = 2_000_000
# libyaml's composer is about ten times faster than PyYAML's; fall back when absent.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE_TAG = "tag:yaml.org,2002:merge"
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


@dataclass(frozen=True)
class Document:
    """One loaded YAML file: its data and where each value and key stands."""

    file: str
    data: Any
    values: Mapping[Path_, Location] = field(repr=False)
    keys: Mapping[Path_, Location] = field(repr=False)

    def where(self, path: Path_) -> Location:
        """The location of the value at ``path``, or of its nearest ancestor."""
        while path:
            loc = self.values.get(path)
            if loc is not None:
                return loc
            path = path[:-1]
        return self.values.get((), Location(self.file, 1, 1))

    def where_key(self, path: Path_) -> Location:
        """The location of the key that holds ``path`` (falls back to the value)."""
        return self.keys.get(path) or self.where(path)


def format_path(path: Path_) -> str:
    """``("calls", 0, "to")`` -> ``calls[0].to``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def load_file(path: Path, display: str | None = None) -> Document:
    """Read and parse ``path``; raise :class:`SpecError` with a position on any defect."""
    name = display if display is not None else str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            mib = size / (1024 * 1024)
            raise SpecError(
                [
                    _problem(
                        name,
                        1,
                        1,
                        f"file is {mib:.1f} MiB, larger than the {MAX_FILE_BYTES >> 20} MiB "
                        "limit for a spec or profiles file",
                    )
                ]
            )
        raw = path.read_bytes()
    except OSError as e:
        raise SpecError([_problem(name, 0, 0, f"cannot read file: {e.strerror or e}")]) from e
    return load_bytes(raw, name)


def load_bytes(raw: bytes, name: str) -> Document:
    """Parse YAML bytes (UTF-8, with or without BOM) into a :class:`Document`."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line, col = _line_col(raw[: e.start].decode("utf-8", "replace"), len(raw[: e.start]))
        msg = f"not UTF-8 text: byte 0x{raw[e.start]:02x} cannot be decoded"
        raise SpecError([_problem(name, line, col, msg)]) from e
    loader: Any = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.reader.ReaderError as e:
        line, col = _line_col(text, e.position)
        msg = f"character {e.character!r} is not allowed in YAML: {e.reason}"
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
    if node is None:
        raise SpecError([_problem(name, 1, 1, "file is empty: expected a mapping")])
    builder = _Builder(name, loader)
    data = builder.build(node, ())
    if builder.problems:
        raise SpecError(builder.problems)
    return Document(name, data, builder.values, builder.keys)


def _problem(name: str, line: int, col: int, message: str, path: str = "") -> Problem:
    return Problem(Location(name, line, col), path, message)


def _line_col(text: str, offset: int) -> tuple[int, int]:
    before = text[:offset]
    line = before.count("\n") + 1
    return line, offset - (before.rfind("\n") + 1) + 1


class _Builder:
    """Turns a composed node tree into plain data and position maps."""

    def __init__(self, name: str, loader: Any) -> None:
        self.name = name
        self.loader = loader
        self.values: dict[Path_, Location] = {}
        self.keys: dict[Path_, Location] = {}
        self.problems: list[Problem] = []
        self.count = 0

    def _loc(self, node: yaml.Node) -> Location:
        mark = node.start_mark
        return Location(self.name, mark.line + 1, mark.column + 1)

    def _fail(self, node: yaml.Node, path: Path_, message: str) -> None:
        self.problems.append(Problem(self._loc(node), format_path(path), message))

    def build(self, node: yaml.Node, path: Path_) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            if self.count == MAX_NODES + 1:
                self._fail(node, path, f"document has more than {MAX_NODES} values (alias bomb?)")
            return None
        self.values[path] = self._loc(node)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(child, (*path, i)) for i, child in enumerate(node.value)]
        return self._scalar(node, path)

    def _scalar(self, node: yaml.Node, path: Path_) -> Any:
        tag = node.tag
        if tag in _PLAIN_TAGS:
            value = self.loader.construct_object(node)
            if type(value) is int:
                return WrittenInt(value, node.value)
            return value
        if tag == "tag:yaml.org,2002:timestamp":
            return str(node.value)
        self._fail(node, path, f"unsupported YAML tag {tag}: use a plain string, number or bool")
        return None

    def _mapping(self, node: yaml.MappingNode, path: Path_) -> dict[str, Any]:
        out: dict[str, Any] = {}
        merged: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                sources = (
                    value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                )
                merged.extend(sources)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self._fail(key_node, path, "a key must be a plain string, not a list or mapping")
                continue
            key = str(key_node.value)
            child = (*path, key)
            if key in out:
                first = self.keys[child]
                self._fail(
                    key_node,
                    child,
                    f"duplicate key '{key}' (first written at line {first.line}); "
                    "YAML keeps only the last, so callspec refuses both",
                )
                continue
            self.keys[child] = self._loc(key_node)
            out[key] = self.build(value_node, child)
        for source in merged:
            if not isinstance(source, yaml.MappingNode):
                self._fail(source, path, "'<<' merges only mappings")
                continue
            for key, value in self._mapping(source, path).items():
                out.setdefault(key, value)
        return out


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
