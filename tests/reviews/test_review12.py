"""Review 12: rosters (``each:``, ``each_where:``).

Each test reproduces a finding of that review: it asserts the correct behaviour and
is marked strict-xfail until the finding is fixed (then the mark comes off).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support import cred_env, invoke, read_report, sandbox, write_profiles

from callspec.errors import ExitCode

SPEC = """version: 1
defaults:
  from: "+14152224444"
  answer_url: https://hooks.example.com/answer.xml
calls:
  - name: "NAME"
    each: EACH
    to: "{{ row.phone }}"
"""


def _spec(folder: Path, each: str, name: str = "page-{{ row.name }}", extra: str = "") -> Path:
    (folder / ".git").mkdir(exist_ok=True)
    path = folder / "calls.yaml"
    path.write_text(SPEC.replace("NAME", name).replace("EACH", each) + extra)
    return path


def _placed_to(records: list[dict[str, Any]]) -> list[str]:
    return [str(r["body"]["to"]) for r in records if r.get("placed")]


# --- JSON rosters that crash the reader ------------------------------------------------------


def test_deeply_nested_json_roster_is_a_located_error(tmp_path: Path) -> None:
    depth = 100_000
    (tmp_path / "d.json").write_text("[" + "[" * depth + "]" * depth + "]")
    result = invoke(["validate", _spec(tmp_path, "d.json")])
    assert result.exit_code == ExitCode.INVALID, result.output
    assert "d.json:1:" in result.output
    assert "internal error" not in result.output


def test_json_roster_with_a_huge_integer_is_a_located_error(tmp_path: Path) -> None:
    (tmp_path / "d.json").write_text('[{"name": "a", "phone": ' + "1" * 5000 + "}]")
    result = invoke(["validate", _spec(tmp_path, "d.json")])
    assert result.exit_code == ExitCode.INVALID, result.output
    assert "d.json:1:" in result.output
    assert "internal error" not in result.output


# --- a variable named row ---------------------------------------------------------------------


@pytest.mark.parametrize("where", ["spec", "command line"])
def test_a_variable_named_row_beside_each_is_a_located_error(tmp_path: Path, where: str) -> None:
    (tmp_path / "d.csv").write_text("name,phone\nann,+14155550100\n")
    spec = _spec(tmp_path, "d.csv")
    args: list[Any] = ["validate", spec]
    if where == "spec":
        spec.write_text(spec.read_text().replace("defaults:", "vars:\n  row: hi\ndefaults:"))
    else:
        args += ["--var", "row=1"]
    result = invoke(args)
    assert result.exit_code == ExitCode.INVALID, result.output
    assert "internal error" not in result.output
    assert "reserved" in result.output


# --- row values silently lost -----------------------------------------------------------------


def test_a_column_named_index_is_not_silently_replaced(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("name,phone,index\nann,+14155550100,7\n")
    spec = _spec(tmp_path, "d.csv", extra='    caller_name: "n{{ row.index }}"\n')
    result = invoke(["render", spec, "--format", "json"])
    # Either the column's value reaches the call, or the clash is an error (exit 3).
    assert result.exit_code == ExitCode.INVALID or '"n7"' in result.output, result.output


# --- a spec's mistake reported once per row ---------------------------------------------------


def test_a_missing_column_is_reported_once_at_the_spec(tmp_path: Path) -> None:
    rows = "".join(f"n{i},+1415{i:07d}\n" for i in range(500))
    (tmp_path / "d.csv").write_text("name,phone\n" + rows)
    spec = _spec(tmp_path, "d.csv", extra='    caller_name: "{{ row.nmae }}"\n')
    result = invoke(["validate", spec])
    assert result.exit_code == ExitCode.INVALID
    assert result.output.count("'nmae'") == 1, result.output[-400:]
    assert "calls.yaml:" in result.output


# --- inconsistent readers ---------------------------------------------------------------------


def test_a_json_row_naming_a_column_twice_is_refused(tmp_path: Path) -> None:
    (tmp_path / "d.json").write_text(
        '[{"name": "ann", "phone": "+14155550100", "phone": "+14155550199"}]'
    )
    result = invoke(["validate", _spec(tmp_path, "d.json")])
    assert result.exit_code == ExitCode.INVALID, result.output
    assert "d.json:1:" in result.output


def test_a_symlinked_spec_finds_its_roster(tmp_path: Path) -> None:
    real, link = tmp_path / "real", tmp_path / "link"
    real.mkdir()
    link.mkdir()
    roster = "name,phone\nann,+14155550100\n"
    spec = real / "calls.yaml"
    spec.write_text(SPEC.replace("NAME", "page-{{ row.name }}").replace("EACH", "d.csv"))
    (real / "d.csv").write_text(roster)
    (link / "d.csv").write_text(roster)  # beside the link too: either reading is right
    (link / "calls.yaml").symlink_to(spec)
    result = invoke(["validate", link / "calls.yaml"])
    assert result.exit_code == ExitCode.OK, result.output


def test_each_where_written_as_a_template_says_it_is_an_expression(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("name,phone,team\nann,+14155550100,x\n")
    spec = _spec(tmp_path, "d.csv")
    text = spec.read_text().replace(
        "    each: d.csv\n", "    each: d.csv\n    each_where: \"{{ row.team == 'x' }}\"\n"
    )
    spec.write_text(text)
    result = invoke(["validate", spec])
    assert result.exit_code == ExitCode.INVALID
    assert "expression" in result.output, result.output


# --- names made of data -----------------------------------------------------------------------


def test_control_characters_in_a_rendered_name_do_not_reach_the_terminal(
    tmp_path: Path,
) -> None:
    write_profiles(tmp_path)
    (tmp_path / "d.csv").write_text(
        'name,phone\n"ann\x1b[31m",+14152220001\n"bob\n[9/9] fired   201 forged",+14152220002\n'
    )
    spec = _spec(tmp_path, "d.csv")
    with sandbox() as sb:
        result = invoke(["run", spec, "--api-url", sb.url, "--rate", "200"], cred_env())
        placed = _placed_to(sb.calls)
    # Refusing such a name (exit 3, nothing sent) or printing it escaped are both right.
    assert result.exit_code == ExitCode.INVALID or len(placed) == 2, result.output
    assert "\x1b" not in result.output
    assert not any(line.startswith("[9/9]") for line in result.output.splitlines()), result.output


def test_a_yaml_roster_value_no_is_not_silently_false(tmp_path: Path) -> None:
    (tmp_path / "d.yaml").write_text('- {name: NO, phone: "+14155550100"}\n')
    result = invoke(["render", _spec(tmp_path, "d.yaml"), "--format", "json"])
    assert "page-False" not in result.output, result.output


# --- odd roster paths -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "each",
    ['"x\\0/d.csv"', '"' + "a" * 300 + '.csv"', '"' + "a/" * 3000 + 'd.csv"'],
    ids=["nul", "long-name", "long-path"],
)
def test_an_unusable_roster_path_is_a_located_error(tmp_path: Path, each: str) -> None:
    result = invoke(["validate", _spec(tmp_path, each)])
    assert result.exit_code == ExitCode.INVALID, result.output
    assert "calls.yaml:7:" in result.output
    assert "internal error" not in result.output


def test_each_where_keeping_no_row_is_only_a_warning(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("name,phone\nann,+14155550100\n")
    spec = _spec(tmp_path, "d.csv")
    spec.write_text(
        spec.read_text().replace("    each: d.csv\n", '    each: d.csv\n    each_where: "false"\n')
    )
    result = invoke(["validate", spec])
    assert "keeps no row" in result.output
    assert "no call matches  in" not in result.output
    assert result.exit_code == ExitCode.OK, result.output


def test_an_each_where_error_names_the_rendered_call(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("name,phone\nann,+14155550100\n")
    spec = _spec(tmp_path, "d.csv")
    spec.write_text(
        spec.read_text().replace("    each: d.csv\n", '    each: d.csv\n    each_where: "1 / 0"\n')
    )
    result = invoke(["validate", spec])
    assert result.exit_code == ExitCode.INVALID
    assert "(call 'page-ann', row 1" in result.output, result.output


# --- resume: the general case behind the two findings above ----------------------------------


def test_a_column_some_rows_lack_is_reported_at_each_such_row(tmp_path: Path) -> None:
    """Only a column no row has is the spec's mistake; one some rows lack is theirs."""
    (tmp_path / "d.json").write_text(
        '[{"name": "a", "phone": "+14155550100", "pin": "1"},\n'
        ' {"name": "b", "phone": "+14155550101"},\n'
        ' {"name": "c", "phone": "+14155550102"}]'
    )
    spec = _spec(tmp_path, "d.json", extra='    caller_name: "{{ row.pin }}"\n')
    result = invoke(["validate", spec])
    assert result.exit_code == ExitCode.INVALID
    assert "d.json:2:2: calls[0].caller_name (call 'page-b', row 2" in result.output
    assert "d.json:3:2: calls[0].caller_name (call 'page-c', row 3" in result.output


def test_yaml_roster_words_stay_as_written_and_true_stays_a_boolean(tmp_path: Path) -> None:
    (tmp_path / "d.yaml").write_text(
        '- {name: NO, phone: "+14155550100", on: yes, ok: true}\n'
        '- name: Off\n  phone: "+14155550101"\n  on: y\n  ok: False\n'
    )
    extra = '    caller_name: "{{ row.on }}-{{ row.ok }}"\n'
    result = invoke(["render", _spec(tmp_path, "d.yaml", extra=extra), "--format", "json"])
    assert result.exit_code == ExitCode.OK, result.output
    for shown in ('"page-NO"', '"yes-True"', '"page-Off"', '"y-False"'):
        assert shown in result.output, result.output


@pytest.mark.parametrize(
    ("file", "text", "where"),
    [
        ("d.json", '[{"name": "a", "phone": "+14155550100", "index": 1}]', "d.json:1:2:"),
        ("d.yaml", '- {name: a, phone: "+14155550100"}\n- {name: b, index: 2}\n', "d.yaml:2:3:"),
    ],
)
def test_a_column_named_index_is_refused_in_every_roster(
    tmp_path: Path, file: str, text: str, where: str
) -> None:
    (tmp_path / file).write_text(text)
    result = invoke(["validate", _spec(tmp_path, file)])
    assert result.exit_code == ExitCode.INVALID, result.output
    assert f"{where} calls[0].each: a column named 'index'" in result.output


def test_a_written_call_name_with_control_characters_is_refused(tmp_path: Path) -> None:
    spec = tmp_path / "calls.yaml"
    spec.write_text(SPEC.replace("    each: EACH\n", "").replace("NAME", "a\\e[31mb"))
    result = invoke(["validate", spec])
    assert result.exit_code == ExitCode.INVALID
    assert "\x1b" not in result.output
    assert "control characters" in result.output


def test_a_run_whose_each_where_keeps_no_row_sends_nothing_and_says_so(tmp_path: Path) -> None:
    write_profiles(tmp_path)
    (tmp_path / "d.csv").write_text("name,phone\nann,+14155550100\n")
    spec = _spec(tmp_path, "d.csv")
    spec.write_text(
        spec.read_text().replace("    each: d.csv\n", '    each: d.csv\n    each_where: "false"\n')
    )
    report = tmp_path / "r.json"
    with sandbox() as sb:
        args = ["run", spec, "--api-url", sb.url, "--report", report]
        result = invoke(args, cred_env())
        assert sb.calls == []
    assert result.exit_code == ExitCode.OK, result.output
    assert "keeps no row" in result.stderr
    assert read_report(report)["calls"] == []
