"""The example specs under tests/examples, driven through ``callspec validate`` and ``render``.

Each file in ``invalid/`` (a case needing a profiles file is a folder with ``spec.yaml``
and ``profiles.yaml``) and ``multi/`` pins the exact stderr lines it must produce in
leading ``# expect: <line>`` comments, as printed with tests/examples as the working
directory.  Files in ``valid/`` must validate; their ``# body[<call>]: {json}``
lines are a subset of the rendered body, compared with JSON types.

Cases too large or too binary to commit are generated in ``tmp_path``.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import pytest
from support import EXAMPLES, ROOT, RunCli

from callspec.spec.loader import MAX_FILE_BYTES

LOCATED = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+): ")
BODY = re.compile(r"^# body\[(?P<call>[^\]]+)\]: (?P<json>\{.*\})$")
SHARED_DESTINATION = re.compile(
    r"^\S+:\d+:\d+: warning: calls\[\d+\]\.to: .+ is rung by call .+: one run would ring it twice "
    r"\(--unique-destinations makes this an error\)$"
)


def header(path: Path) -> dict[str, list[str]]:
    """The leading comment block's ``expect`` and ``body`` lines."""
    found: dict[str, list[str]] = {"expect": [], "body": []}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        for key in found:
            if line.startswith(f"# {key}"):
                found[key].append(line)
    found["expect"] = [line.removeprefix("# expect: ") for line in found["expect"]]
    return found


def rel(path: Path) -> str:
    return path.relative_to(EXAMPLES).as_posix()


def invalid_files() -> list[Path]:
    flat = sorted((EXAMPLES / "invalid").glob("*.yaml"))
    folders = sorted((EXAMPLES / "invalid").glob("*/spec.yaml"))
    return flat + folders + sorted((EXAMPLES / "multi").glob("*.yaml"))


VALID = sorted((EXAMPLES / "valid").glob("*.yaml"))


def params(files: list[Path]) -> list[Any]:
    return [pytest.param(path, id=rel(path)) for path in files]


def summary(n: int) -> str:
    return f"callspec: {n} problem{'s' if n != 1 else ''}; nothing was sent"


def assert_in_file_order(lines: list[str]) -> None:
    keys = []
    for line in lines:
        m = LOCATED.match(line)
        if m:
            keys.append((m["file"], int(m["line"]), int(m["col"])))
    assert keys == sorted(keys), "problems must print in file order"


def assert_problems(stderr: str, expected: list[str]) -> None:
    """stderr is exactly the expected problem lines (in file order) and the summary."""
    lines = stderr.splitlines()
    assert lines, "no message at all"
    assert lines[-1] == summary(len(expected)), stderr
    assert sorted(lines[:-1]) == sorted(expected), stderr
    assert_in_file_order(lines[:-1])


# --- committed examples ------------------------------------------------------------


@pytest.mark.parametrize("path", params(invalid_files()))
def test_invalid_example(path: Path, run_cli: RunCli) -> None:
    expected = header(path)["expect"]
    assert expected, f"{rel(path)} has no '# expect:' line"
    result = run_cli("validate", rel(path), cwd=EXAMPLES)
    assert result.exit_code == 3, result.output
    assert result.stdout == ""
    assert_problems(result.stderr, expected)


def test_every_invalid_example_has_one_defect() -> None:
    """One defect per file in invalid/ (a defect may need several lines only in multi/)."""
    for path in invalid_files():
        if path.parent.name == "multi" or path.parent.name == "profile-file-broken":
            continue
        assert len(header(path)["expect"]) == 1, rel(path)


def test_invalid_folder_in_one_pass(run_cli: RunCli) -> None:
    """Scanning the whole folder reports every file's problems together, then exits 3."""
    result = run_cli("validate", "invalid", cwd=EXAMPLES)
    assert result.exit_code == 3
    printed = set(result.stderr.splitlines())
    expected = {
        line
        for path in invalid_files()
        if path.parent.name != "multi"
        for line in header(path)["expect"]
    }
    assert expected - printed == set()
    assert_in_file_order(result.stderr.splitlines()[:-1])


def test_several_files_in_one_pass(run_cli: RunCli) -> None:
    files = ["multi/three-defects.yaml", "invalid/unknown-key.yaml", "valid/yaml-values.yaml"]
    result = run_cli("validate", *files, cwd=EXAMPLES)
    assert result.exit_code == 3
    expected = [line for f in files for line in header(EXAMPLES / f)["expect"]]
    assert len(expected) == 4
    assert_problems(result.stderr, expected)


def test_every_argument_has_failing_and_passing_examples() -> None:
    """Each row of Plivo's argument table: at least one example that fails, one that passes."""
    arguments = json.loads((ROOT / "schemas" / "call.schema.json").read_text())
    failing = "\n".join(line for p in invalid_files() for line in header(p)["expect"])
    passing = "\n".join(p.read_text() for p in VALID)
    for name in arguments["properties"]:
        assert re.search(rf"calls\[\d+\]\.{name}: ", failing), f"no failing example of {name}"
        assert re.search(rf"^\s+{name}:", passing, re.M), f"no passing example of {name}"
    for name in ("from", "to", "answer_url"):
        assert f"missing required argument '{name}'" in failing


def test_three_defects_print_three_lines(run_cli: RunCli) -> None:
    result = run_cli("validate", "multi/three-defects.yaml", cwd=EXAMPLES)
    assert result.exit_code == 3
    assert len(result.stderr.splitlines()) == 3 + 1
    assert result.stderr.splitlines()[-1] == summary(3)


@pytest.mark.parametrize("path", VALID, ids=[rel(p) for p in VALID])
def test_valid_example(path: Path, run_cli: RunCli) -> None:
    result = run_cli("validate", rel(path), cwd=EXAMPLES)
    assert result.exit_code == 0, result.output
    # Many examples give every call the same `to` in `defaults`: a warning, nothing else.
    for line in result.stderr.splitlines():
        assert SHARED_DESTINATION.match(line), line
    assert re.fullmatch(r"OK: \d+ calls? in 1 file valid\n", result.stdout)


def test_valid_folder(run_cli: RunCli) -> None:
    result = run_cli("validate", "valid", cwd=EXAMPLES)
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith(f"in {len(VALID)} files valid\n")


def strictly_equal(actual: Any, expected: Any) -> bool:
    """Equal and of the same JSON type (300 is not 300.0, true is not 1)."""
    return type(actual) is type(expected) and actual == expected


WITH_BODY = [p for p in VALID if header(p)["body"]]


@pytest.mark.parametrize("path", WITH_BODY, ids=[rel(p) for p in WITH_BODY])
def test_valid_example_body(path: Path, run_cli: RunCli) -> None:
    """The normalized body: JSON numbers and booleans, upper-case methods, joined lists..."""
    result = run_cli("render", "-f", "json", rel(path), cwd=EXAMPLES)
    assert result.exit_code == 0, result.output
    bodies = {item["call"]: item["body"] for item in json.loads(result.stdout)}
    for line in header(path)["body"]:
        m = BODY.match(line)
        assert m, line
        body = bodies[m["call"]]
        for key, value in json.loads(m["json"]).items():
            assert strictly_equal(body.get(key), value), (m["call"], key, body.get(key), value)


def test_render_normalizes_types(run_cli: RunCli) -> None:
    """The brief's own list, spelled out: the text of the JSON, not only its parsed values."""
    result = run_cli(
        "render",
        "-f",
        "json",
        "valid/strings-like-the-seed.yaml",
        "valid/methods-any-case.yaml",
        "valid/destinations.yaml",
        "valid/sip-headers.yaml",
        "valid/unquoted-phone-numbers.yaml",
        cwd=EXAMPLES,
    )
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert '"time_limit": 300,' in text
    assert '"send_on_preanswer": true,' in text
    assert '"error_if_parent_not_found": true' in text
    assert '"answer_method": "POST"' in text
    assert "POSt" not in text
    assert '"to": "+14152223333<14152225555<sip:john1234@phone.plivo.com<sips:desk@' in text
    assert '"sip_headers": "team=payments,severity=1,Region=EU2"' in text
    assert '"from": "+14152224444",\n      "to": "+14152223333"' in text


# --- generated cases --------------------------------------------------------------

CALL = """version: 1
calls:
  - name: c
    from: "+14152224444"
    answer_url: https://hooks.example.com/answer.xml
"""


def bulk(numbers: list[str]) -> str:
    return CALL + "    to:\n" + "".join(f'      - "{n}"\n' for n in numbers)


def numbers(n: int) -> list[str]:
    return [f"+1415{i:07d}" for i in range(n)]


def test_zero_byte_file(tmp_path: Path, run_cli: RunCli) -> None:
    (tmp_path / "empty.yaml").write_bytes(b"")
    result = run_cli("validate", "empty.yaml", cwd=tmp_path)
    assert result.exit_code == 3
    assert_problems(result.stderr, ["empty.yaml:1:1: file is empty: expected a mapping"])


def test_binary_header(tmp_path: Path, run_cli: RunCli) -> None:
    (tmp_path / "image.yaml").write_bytes(
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
    )
    result = run_cli("validate", "image.yaml", cwd=tmp_path)
    assert result.exit_code == 3
    assert_problems(
        result.stderr,
        ["image.yaml:1:1: not UTF-8 text: byte 0x89 cannot be decoded (save it as UTF-8)"],
    )


@pytest.mark.parametrize(
    ("seed", "where", "byte"),
    [(0, "1:1", "cd"), (1, "1:1", "f5"), (2, "1:2", "a9"), (3, "1:1", "fd"), (4, "1:4", "fc")],
)
def test_binary_garbage(seed: int, where: str, byte: str, tmp_path: Path, run_cli: RunCli) -> None:
    """Random bytes are refused at the first byte that is not UTF-8, located."""
    garbage = random.Random(seed).randbytes(4096)
    (tmp_path / "garbage.yaml").write_bytes(garbage)
    result = run_cli("validate", "garbage.yaml", cwd=tmp_path)
    assert result.exit_code == 3
    undecodable = f"not UTF-8 text: byte 0x{byte} cannot be decoded (save it as UTF-8)"
    assert_problems(result.stderr, [f"garbage.yaml:{where}: {undecodable}"])


def test_file_over_8_mib(tmp_path: Path, run_cli: RunCli) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(CALL.encode() + b"#" * (9 * 1024 * 1024 - len(CALL)))
    result = run_cli("validate", "big.yaml", cwd=tmp_path)
    assert result.exit_code == 3
    assert_problems(
        result.stderr,
        ["big.yaml:1:1: file is 9.0 MiB, larger than the 8 MiB limit for a spec or profiles file"],
    )


def test_file_of_exactly_8_mib_is_read(tmp_path: Path, run_cli: RunCli) -> None:
    text = CALL + '    to: "+14152223333"\n'
    (tmp_path / "edge.yaml").write_bytes(text.encode() + b"#" * (MAX_FILE_BYTES - len(text)))
    result = run_cli("validate", "edge.yaml", cwd=tmp_path)
    assert result.exit_code == 0, result.output


def test_more_than_1000_unique_destinations(tmp_path: Path, run_cli: RunCli) -> None:
    (tmp_path / "bulk.yaml").write_text(bulk(numbers(1001)))
    result = run_cli("validate", "bulk.yaml", cwd=tmp_path)
    assert result.exit_code == 3
    assert_problems(
        result.stderr,
        ["bulk.yaml:7:7: calls[0].to: has 1001 unique destinations; Plivo allows at most 1000"],
    )


def test_1000_destinations_are_allowed(tmp_path: Path, run_cli: RunCli) -> None:
    (tmp_path / "bulk.yaml").write_text(bulk(numbers(1000)))
    result = run_cli("render", "-f", "json", "bulk.yaml", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    to = json.loads(result.stdout)[0]["body"]["to"]
    assert to.count("<") == 999 and to.startswith("+14150000000<+14150000001<")


def test_a_destination_twice_is_refused(tmp_path: Path, run_cli: RunCli) -> None:
    # Plivo's limit counts unique destinations; callspec refuses repeats outright,
    # since the repeated phone could ring twice.
    (tmp_path / "bulk.yaml").write_text(bulk([*numbers(3), "+14150000000"]))
    result = run_cli("validate", "bulk.yaml", cwd=tmp_path)
    assert result.exit_code == 3
    assert "'+14150000000' appears more than once: that phone would ring more than once" in (
        result.stderr
    )


def test_deeply_nested_yaml(tmp_path: Path, run_cli: RunCli) -> None:
    (tmp_path / "deep.yaml").write_text("version: 1\ncalls: " + "[" * 5000 + "]" * 5000 + "\n")
    result = run_cli("validate", "deep.yaml", cwd=tmp_path)
    assert result.exit_code == 3, result.output
    assert re.match(r"deep\.yaml:\d+:\d+: ", result.stderr), result.stderr
    assert "internal error" not in result.stderr


# --- defects found while writing these tests, now fixed: kept as regression tests ---


def test_every_missing_required_argument_is_reported(tmp_path: Path, run_cli: RunCli) -> None:
    (tmp_path / "bare.yaml").write_text("version: 1\ncalls:\n  - name: c\n    time_limit: 5\n")
    result = run_cli("validate", "bare.yaml", cwd=tmp_path)
    assert result.exit_code == 3
    for name in ("from", "to", "answer_url"):
        assert f"'{name}'" in result.stderr, result.stderr


def test_every_missing_required_key_is_reported(tmp_path: Path, run_cli: RunCli) -> None:
    (tmp_path / "bare.yaml").write_text("vars:\n  a: b\n")
    result = run_cli("validate", "bare.yaml", cwd=tmp_path)
    assert result.exit_code == 3
    assert "'version'" in result.stderr and "'calls'" in result.stderr, result.stderr


@pytest.mark.parametrize(
    ("spec", "profiles", "regex"),
    [
        ('version: 1\ncalls:\n  - name: "  "\n', None, r"^\S(?:.*\S)?$"),
        (
            CALL + '    to: "+14152223333"\n',
            "version: 1\nprofiles:\n  default:\n    api_url: ftp://example.com\n",
            r"^https?://[^\s/?#]+[^\s?#]*$",
        ),
    ],
    ids=["call-name-blank", "profile-api-url"],
)
def test_pattern_messages_are_words(
    spec: str, profiles: str | None, regex: str, tmp_path: Path, run_cli: RunCli
) -> None:
    (tmp_path / "spec.yaml").write_text(spec)
    if profiles:
        (tmp_path / "profiles.yaml").write_text(profiles)
    result = run_cli("validate", "spec.yaml", cwd=tmp_path)
    assert result.exit_code == 3
    assert re.match(r"\S+:\d+:\d+: ", result.stderr)
    assert regex not in result.stderr, result.stderr


def test_sip_headers_mapping_null_value(tmp_path: Path, run_cli: RunCli) -> None:
    (tmp_path / "sip.yaml").write_text(
        CALL + '    to: "+14152223333"\n    sip_headers:\n      team:\n'
    )
    result = run_cli("render", "-f", "json", "sip.yaml", cwd=tmp_path)
    assert "team=None" not in result.stdout
    assert result.exit_code == 3
    assert "sip_headers" in result.stderr


def test_an_integral_float_is_refused_with_the_integer_to_write(
    tmp_path: Path, run_cli: RunCli
) -> None:
    (tmp_path / "float.yaml").write_text(CALL + '    to: "+14152223333"\n    time_limit: 300.0\n')
    result = run_cli("render", "-f", "json", "float.yaml", cwd=tmp_path)
    assert result.exit_code == 3
    assert result.stdout == ""
    assert_problems(
        result.stderr,
        [
            "float.yaml:7:17: calls[0].time_limit: 300.0 is not a plain decimal integer "
            "(YAML reads it as 300.0); write 300"
        ],
    )


def test_secret_is_masked_in_error_messages(tmp_path: Path, run_cli: RunCli) -> None:
    (tmp_path / "profiles.yaml").write_text(
        "version: 1\nprofiles:\n  default:\n    secrets: [pin]\n    vars:\n      pin: '8642x'\n"
    )
    (tmp_path / "spec.yaml").write_text(
        CALL + '    to: "+14152223333"\n    send_digits: "{{ pin }}"\n'
    )
    result = run_cli("validate", "spec.yaml", cwd=tmp_path)
    assert result.exit_code == 3
    assert "spec.yaml:7:18: calls[0].send_digits: " in result.stderr
    assert "8642" not in result.output
    assert "***" in result.stderr
