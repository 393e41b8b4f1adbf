"""The loader: YAML bytes to plain data, with the 1-based line and column of every value."""

from __future__ import annotations

import datetime
import json
import re
from pathlib import Path

import pytest
import yaml

from callspec.errors import Location, SpecError
from callspec.spec.loader import (
    MAX_FILE_BYTES,
    Document,
    WrittenFloat,
    WrittenInt,
    describe,
    format_path,
    load_bytes,
    load_file,
)

SPEC = b"""\
version: 1
calls:
  - name: page
    to: "+14152223333"
    tags: [a, b]
    vars: {who: me}
    caller_name: |
      two
      lines
"""


def load(text: str | bytes, name: str = "f.yaml") -> Document:
    return load_bytes(text.encode() if isinstance(text, str) else text, name)


def problems(text: str | bytes, name: str = "f.yaml") -> list[str]:
    with pytest.raises(SpecError) as info:
        load(text, name)
    return [str(p) for p in info.value.problems]


# --- data and positions ---------------------------------------------------------------


def test_plain_data() -> None:
    doc = load(SPEC)
    assert doc.file == "f.yaml"
    assert doc.data == {
        "version": 1,
        "calls": [
            {
                "name": "page",
                "to": "+14152223333",
                "tags": ["a", "b"],
                "vars": {"who": "me"},
                "caller_name": "two\nlines\n",
            }
        ],
    }
    json.dumps(doc.data)  # plain JSON-able values only


@pytest.mark.parametrize(
    ("path", "line", "col"),
    [
        ((), 1, 1),
        (("version",), 1, 10),
        (("calls",), 3, 3),
        (("calls", 0), 3, 5),
        (("calls", 0, "name"), 3, 11),
        (("calls", 0, "to"), 4, 9),
        (("calls", 0, "tags"), 5, 11),
        (("calls", 0, "tags", 1), 5, 15),
        (("calls", 0, "vars", "who"), 6, 17),
        (("calls", 0, "caller_name"), 7, 18),
    ],
)
def test_value_positions(path: tuple[str | int, ...], line: int, col: int) -> None:
    assert load(SPEC).where(path) == Location("f.yaml", line, col)


@pytest.mark.parametrize(
    ("path", "line", "col"),
    [(("version",), 1, 1), (("calls",), 2, 1), (("calls", 0, "to"), 4, 5)],
)
def test_key_positions(path: tuple[str | int, ...], line: int, col: int) -> None:
    assert load(SPEC).where_key(path) == Location("f.yaml", line, col)


def test_missing_path_falls_back_to_the_nearest_ancestor() -> None:
    doc = load(SPEC)
    assert doc.where(("calls", 0, "nosuch", 3)) == doc.where(("calls", 0))
    assert doc.where(("nosuch",)) == doc.where(())
    assert doc.where_key(("calls", 0, "tags", 0)) == doc.where(("calls", 0, "tags", 0))


def test_positions_after_a_bom_and_with_crlf() -> None:
    doc = load(b"\xef\xbb\xbfa: 1\r\nb:\r\n  c: x\r\n")
    assert doc.data == {"a": 1, "b": {"c": "x"}}
    assert doc.where(("a",)) == Location("f.yaml", 1, 4)
    assert doc.where(("b", "c")) == Location("f.yaml", 3, 6)


def test_positions_count_characters_not_bytes() -> None:
    doc = load("a: é\nb: ü ü\nc: x\n")
    assert doc.where(("b",)) == Location("f.yaml", 2, 4)
    assert doc.where(("c",)) == Location("f.yaml", 3, 4)


def test_load_file_uses_the_display_name(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_bytes(SPEC)
    assert load_file(path, "shown.yaml").where(("calls", 0, "to")) == Location("shown.yaml", 4, 9)
    assert load_file(path).file == str(path)


# --- scalars ----------------------------------------------------------------------------


def test_written_int_keeps_its_text() -> None:
    doc = load("a: +14152223333\nb: 14152223333\nc: 0x1F\nd: '+14152223333'\n")
    a = doc.data["a"]
    assert isinstance(a, WrittenInt) and isinstance(a, int)
    assert a == 14152223333
    assert str(a) == "+14152223333"
    assert f"{a}" == "+14152223333"
    assert json.dumps(a) == "14152223333"
    assert a + 1 == 14152223334
    assert str(doc.data["b"]) == "14152223333"
    assert doc.data["c"] == 31 and str(doc.data["c"]) == "0x1F"
    assert doc.data["d"] == "+14152223333" and type(doc.data["d"]) is str


NUMBERS = [
    "300",
    "+300",
    "-5",
    "0",
    "010",
    "-010",
    "00",
    "0x1F",
    "0o17",
    "0b101",
    "1:30",
    "1_000",
    "300.0",
    "1.0e+3",
    "1e3",
    ".inf",
    "1.5",
    "'010'",
    "!!int '010'",
    "!!float 3",
]


@pytest.mark.parametrize("text", NUMBERS)
def test_numbers_keep_their_text_and_read_as_pyyaml_reads_them(text: str) -> None:
    """The event-based loader (with its memo of tag resolution) agrees with yaml.safe_load."""
    for _ in range(2):  # the second time through the memo
        value = load(f"a: {text}\n").data["a"]
        expected = yaml.safe_load(f"a: {text}\n")["a"]
        assert value == expected and isinstance(value, type(expected)), (text, value)
        if isinstance(value, WrittenInt | WrittenFloat):
            assert value.text == text.split(" ")[-1].strip("'"), value.text


def test_a_number_too_long_for_python_is_a_located_error() -> None:
    assert problems("a:\n  b: " + "1" * 5000 + "\n") == [
        "f.yaml:2:6: a.b: a number of 5,000 characters is too long"
    ]


def test_other_scalars() -> None:
    doc = load(
        "t: true\nf: no\nn: ~\nx: 1.5\ns: '300'\nd: 2024-01-02\nts: 2024-01-02T03:04:05Z\n"
        "tagged: !!str 123\nint: !!int '5'\n"
    )
    assert doc.data["t"] is True and doc.data["f"] is False and doc.data["n"] is None
    assert doc.data["x"] == 1.5 and doc.data["s"] == "300"
    # timestamps stay text: a spec never needs a date object
    assert doc.data["d"] == "2024-01-02" and doc.data["ts"] == "2024-01-02T03:04:05Z"
    assert doc.data["tagged"] == "123" and doc.data["int"] == 5
    assert not isinstance(doc.data["t"], WrittenInt)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: !!binary aGk=\n", "f.yaml:1:4: a: unsupported YAML tag tag:yaml.org,2002:binary"),
        ("a: !secret x\n", "f.yaml:1:4: a: unsupported YAML tag !secret"),
        ("a: !!python/name:os.system x\n", "f.yaml:1:4: a: unsupported YAML tag"),
    ],
)
def test_unsupported_tags(text: str, message: str) -> None:
    [problem] = problems(text)
    assert problem.startswith(message)


# --- structure ----------------------------------------------------------------------------


def test_duplicate_keys_are_all_reported() -> None:
    assert problems("a: 1\na: 2\nb:\n  c: 1\n  d: 0\n  c: 2\n") == [
        "f.yaml:2:1: a: duplicate key 'a' (first written at line 1); "
        "YAML keeps only the last, so callspec refuses both",
        "f.yaml:6:3: b.c: duplicate key 'c' (first written at line 4); "
        "YAML keeps only the last, so callspec refuses both",
    ]


def test_duplicate_key_in_a_list_item() -> None:
    [problem] = problems("calls:\n  - name: a\n  - name: b\n    to: x\n    to: y\n")
    assert problem.startswith(
        "f.yaml:5:5: calls[1].to: duplicate key 'to' (first written at line 4)"
    )


def test_key_must_be_a_scalar() -> None:
    [problem] = problems("? [a]\n: 1\nb: 2\n")
    assert problem == "f.yaml:1:3: a key must be a plain string, not a list or mapping"


def test_scalar_keys_become_strings() -> None:
    assert load("1: a\ntrue: b\n").data == {"1": "a", "true": "b"}


def test_merge_keys() -> None:
    doc = load(
        "base: &base {from: x, to: y, ring_timeout: 1}\ncall:\n  <<: *base\n  ring_timeout: 2\n"
    )
    assert doc.data["call"] == {"from": "x", "to": "y", "ring_timeout": 2}  # the mapping wins
    assert doc.where(("call", "ring_timeout")) == Location("f.yaml", 4, 17)


def test_merge_key_list_earlier_wins() -> None:
    doc = load("a: &a {x: 1}\nb: &b {x: 2, z: 3}\nc:\n  <<: [*a, *b]\n  w: 0\n")
    assert doc.data["c"] == {"x": 1, "z": 3, "w": 0}


def test_merge_key_after_the_keys_it_fills() -> None:
    doc = load("a: &a {x: 1, y: 1}\nc:\n  y: 2\n  <<: *a\n")
    assert doc.data["c"] == {"x": 1, "y": 2}
    assert doc.where(("c", "y")) == Location("f.yaml", 3, 6)


def test_merge_of_a_non_mapping() -> None:
    [problem] = problems("c:\n  <<: 5\n")
    assert problem.startswith("f.yaml:2:")
    assert problem.endswith("c: '<<' merges only mappings")


def test_quoted_merge_key_is_a_plain_key() -> None:
    assert load("'<<': 1\n").data == {"<<": 1}


def test_aliases_repeat_the_anchored_value() -> None:
    doc = load("a: &n '+14152223333'\nb: *n\nc: [*n, *n]\n")
    assert doc.data == {"a": "+14152223333", "b": "+14152223333", "c": ["+14152223333"] * 2}


# --- broken input: every defect is a SpecError with a position ---------------------------


def test_empty_file() -> None:
    assert problems(b"") == ["f.yaml:1:1: file is empty: expected a mapping"]


def test_comments_only() -> None:
    [problem] = problems("# nothing\n# here\n")
    assert re.fullmatch(r"f\.yaml:\d+:1: file is empty: expected a mapping", problem)


def test_yaml_syntax_error_position() -> None:
    [problem] = problems('a: 1\nb: "open\n')
    assert problem.startswith("f.yaml:3:1: YAML syntax error: ")
    assert "quoted scalar" in problem


def test_tab_indentation() -> None:
    [problem] = problems("a:\n\tb: 1\n")
    assert re.match(r"f\.yaml:2:\d+: ", problem)


def test_several_documents() -> None:
    [problem] = problems("a: 1\n---\nb: 2\n")
    assert problem.startswith("f.yaml:2:1: ")
    assert re.search(r"single document|several documents|another", problem)


def test_invalid_utf8() -> None:
    assert problems(b"a: 1\nb: \xff\n") == [
        "f.yaml:2:4: not UTF-8 text: byte 0xff cannot be decoded (save it as UTF-8)"
    ]


def test_invalid_utf8_column_after_non_ascii_text() -> None:
    assert problems("a: é\nb: ".encode() + b"\xff\n") == [
        "f.yaml:2:4: not UTF-8 text: byte 0xff cannot be decoded (save it as UTF-8)"
    ]


def test_invalid_utf8_after_bom() -> None:
    assert problems(b"\xef\xbb\xbfa: \xff\n") == [
        "f.yaml:1:4: not UTF-8 text: byte 0xff cannot be decoded (save it as UTF-8)"
    ]


def test_control_character_message() -> None:
    [problem] = problems(b"a: 1\x00\n")
    assert problem.startswith("f.yaml:1:5: ")
    assert "character 0 " not in problem
    assert re.search(r"U\+0000|#x0000|'\\x00'|\\0", problem), problem


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    [problem] = problems("a: " + "[" * 5000 + "]" * 5000 + "\n")
    assert problem.startswith("f.yaml:1:")
    [problem] = problems("a: " + "{b: " * 3000 + "1" + "}" * 3000 + "\n")
    assert problem.startswith("f.yaml:1:")


def test_reasonable_nesting_loads() -> None:
    assert load("a: " + "[" * 20 + "]" * 20 + "\n").data["a"] == [
        [[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]
    ]


def test_alias_bomb() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    [problem] = problems("\n".join(lines) + "\n")
    assert re.match(r"f\.yaml:\d+:\d+: ", problem)
    assert "alias bomb" in problem


def test_file_too_large(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"#" * (MAX_FILE_BYTES + 1))
    with pytest.raises(SpecError) as info:
        load_file(path, "big.yaml")
    [problem] = info.value.problems
    assert str(problem) == (
        "big.yaml:1:1: file is 8.0 MiB, larger than the 8 MiB limit for a spec or profiles file"
    )


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as info:
        load_file(tmp_path / "nope.yaml", "nope.yaml")
    [problem] = info.value.problems
    assert problem.location == Location("nope.yaml")
    assert str(problem).startswith("nope.yaml: cannot read file: ")


def test_a_folder_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as info:
        load_file(tmp_path, "dir")
    assert (
        str(info.value.problems[0]) == "dir:1:1: not a regular file (a folder, a device or a pipe)"
    )


# --- helpers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ((), ""),
        (("calls",), "calls"),
        (("calls", 0, "to"), "calls[0].to"),
        (("calls", 2, "to", 1), "calls[2].to[1]"),
        (("profiles", "default", "vars", "x"), "profiles.default.vars.x"),
        ((0, "a"), "[0].a"),
    ],
)
def test_format_path(path: tuple[str | int, ...], text: str) -> None:
    assert format_path(path) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "null"),
        (True, "a boolean"),
        (3, "an integer"),
        (WrittenInt(3, "+3"), "an integer"),
        (1.5, "a number"),
        ("x", "a string"),
        ([], "a list"),
        ({}, "a mapping"),
        (datetime.date(2024, 1, 2), "a date"),
    ],
)
def test_describe(value: object, text: str) -> None:
    assert describe(value) == text


def test_the_tag_memo_is_bounded_and_gives_the_same_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A spec of 20,000 distinct numbers must not keep every tag resolution (memory).
    from callspec.spec import loader

    lines = ["version: 1", "calls:"]
    for i in range(40):
        lines += [f"  - name: c{i}", f"    to: {14155550000 + i}", "    time_limit: 300"]
    text = ("\n".join(lines) + "\n").encode()
    expected = load_bytes(text, "a.yaml").data
    monkeypatch.setattr(loader, "TAG_MEMO_MAX", 3)
    loader._Loader._memo.clear()
    assert load_bytes(text, "a.yaml").data == expected
    assert len(loader._Loader._memo) <= 3
