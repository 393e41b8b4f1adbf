"""Rosters: ``each:`` expands a call into one call per row, with located row errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support import cred_env, free_port, invoke, read_report, sandbox, write_profiles

from callspec.errors import ExitCode, SpecError, UsageError
from callspec.spec.loader import MAX_FILE_BYTES
from callspec.spec.plan import Plan, PlanOptions, build_plan
from callspec.spec.profiles import PROFILES_ENV

HEADER = """version: 1
defaults:
  from: "+14152224444"
  answer_url: https://hooks.example.com/answer.xml
calls:
"""
CALL = """  - name: "page-{{ row.name }}"
    tags: [rota]
    each: EACH
    to: "{{ row.phone }}"
"""
ROSTER = """name,phone,team
alice,+14152220001,payments
bob,+14152220002,search
carol,+14152220003,payments
"""


@pytest.fixture(autouse=True)
def _here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Paths print relative to the project; a git work tree bounds where rosters may be."""
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(PROFILES_ENV, raising=False)


def spec(
    folder: Path, each: str = "oncall.csv", extra: str = "", roster: str | None = ROSTER
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if roster is not None:
        (folder / "oncall.csv").write_text(roster)
    path = folder / "roster.yaml"
    path.write_text(HEADER + CALL.replace("EACH", each) + extra)
    return path


def plan(path: Path, **options: object) -> Plan:
    return build_plan([path], PlanOptions(**options), {})  # type: ignore[arg-type]


def problems(path: Path, **options: object) -> list[str]:
    with pytest.raises(SpecError) as info:
        plan(path, **options)
    return [str(p) for p in info.value.problems]


# --- expansion ---------------------------------------------------------------------------------


def test_each_row_is_one_call_with_its_rendered_name_and_row(tmp_path: Path) -> None:
    calls = plan(spec(tmp_path / "specs")).calls
    assert [c.name for c in calls] == ["page-alice", "page-bob", "page-carol"]
    assert [c.body["to"] for c in calls] == ["+14152220001", "+14152220002", "+14152220003"]
    assert calls[2].row is not None
    assert (calls[2].row.file, calls[2].row.line, calls[2].row.number) == (
        "specs/oncall.csv",
        4,
        3,
    )
    assert len({c.key for c in calls}) == 3


def test_row_index_call_scope_and_variables(tmp_path: Path) -> None:
    extra = ""
    path = spec(tmp_path, extra=extra)
    added = '\n    caller_name: "{{ greeting }} {{ row.index }} {{ call.name }}"'
    added += "\n    vars: {greeting: hi}"
    to = '    to: "{{ row.phone }}"'
    text = path.read_text().replace(to, to + added)
    path.write_text(text)
    calls = plan(path).calls
    assert [c.body["caller_name"] for c in calls] == [
        "hi 0 page-alice",
        "hi 1 page-bob",
        "hi 2 page-carol",
    ]


def test_csv_values_are_normalized_like_any_value(tmp_path: Path) -> None:
    roster = "name,phone,limit\nann,+14152220001,300\n"
    path = spec(tmp_path, roster=roster)
    path.write_text(path.read_text() + '    time_limit: "{{ row.limit }}"\n')
    assert plan(path).calls[0].body["time_limit"] == 300


def test_json_yaml_and_inline_rosters(tmp_path: Path) -> None:
    rows = [{"name": "ann", "phone": "+14152220001"}, {"name": "ben", "phone": "+14152220002"}]
    (tmp_path / "r.json").write_text(json.dumps(rows, indent="\t"))
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "r.yml").write_text(
        "- {name: ann, phone: '+14152220001'}\n- {name: ben, phone: '+14152220002'}\n"
    )
    for each in ("r.json", "data/r.yml", json.dumps(rows)):
        calls = plan(spec(tmp_path, each=each, roster=None)).calls
        assert [c.name for c in calls] == ["page-ann", "page-ben"], each
    inline = plan(spec(tmp_path, each=json.dumps(rows), roster=None)).calls
    assert inline[1].row is not None and inline[1].row.file == "roster.yaml"


def test_each_where_picks_rows(tmp_path: Path) -> None:
    path = spec(tmp_path, extra="    each_where: \"row.team == 'payments'\"\n")
    assert [c.name for c in plan(path).calls] == ["page-alice", "page-carol"]


def test_only_and_tag_select_expanded_calls(tmp_path: Path) -> None:
    path = spec(tmp_path)
    assert [c.name for c in plan(path, only=("page-bob",)).calls] == ["page-bob"]
    assert len(plan(path, tags=("rota",)).calls) == 3
    with pytest.raises(UsageError, match="page-zed"):
        plan(path, only=("page-zed",))


def test_a_column_named_like_a_dict_method_reads_the_column(tmp_path: Path) -> None:
    roster = "name,phone,items\nann,+14152220001,three\n"
    path = spec(tmp_path, roster=roster)
    path.write_text(path.read_text() + '    caller_name: "{{ row.items }}"\n')
    assert plan(path).calls[0].body["caller_name"] == "three"


# --- located errors ----------------------------------------------------------------------------


def test_bad_rows_are_located_at_their_lines_all_in_one_pass(tmp_path: Path) -> None:
    roster = ROSTER.replace("+14152220002", "not-a-phone").replace("+14152220003", "x")
    found = problems(spec(tmp_path / "specs", roster=roster))
    assert found[0].startswith(
        "specs/oncall.csv:3:1: calls[0].to (call 'page-bob', row 2 in specs/roster.yaml): "
        "'not-a-phone' must be phone numbers"
    )
    assert found[1].startswith(
        "specs/oncall.csv:4:1: calls[0].to (call 'page-carol', row 3 in specs/roster.yaml): "
    )
    assert len(found) == 2


def test_a_bad_row_sends_nothing(tmp_path: Path) -> None:
    path = spec(tmp_path, roster=ROSTER.replace("+14152220002", "nope"))
    result = invoke(["run", str(path), "--dry-run"])
    assert result.exit_code == 3
    assert "oncall.csv:3:1: calls[0].to (call 'page-bob', row 2 in roster.yaml)" in result.stderr
    assert "nothing was sent" in result.stderr


def test_a_literal_value_problem_is_reported_once_at_the_spec(tmp_path: Path) -> None:
    path = spec(tmp_path)
    path.write_text(path.read_text() + "    time_limit: soon\n")
    found = problems(path)
    assert len(found) == 1
    assert found[0].startswith("roster.yaml:10:17: calls[0].time_limit: ")


def test_a_missing_column_names_the_columns(tmp_path: Path) -> None:
    path = spec(tmp_path)
    path.write_text(path.read_text() + '    caller_name: "{{ row.nmae }}"\n')
    found = problems(path)
    # A column no row has is the spec's typo: once, at the spec's line.
    assert found == [
        "roster.yaml:10:18: calls[0].caller_name: "
        "template error: column 'nmae' is not in oncall.csv; did you mean 'name'? "
        "(its columns: name, phone, team; and row.index)"
    ]


def test_a_name_clash_names_both_rows(tmp_path: Path) -> None:
    roster = "name,phone\nann,+14152220001\nbob,+14152220002\nann,+14152220003\n"
    found = problems(spec(tmp_path, roster=roster))
    assert found == [
        "oncall.csv:4:1: calls[0].name (call 'page-ann', row 3 in roster.yaml): "
        "duplicate call name 'page-ann' (first at row 1, oncall.csv:2)"
    ]


def test_a_ragged_row_is_an_error_and_the_other_rows_are_still_checked(tmp_path: Path) -> None:
    roster = "name,phone\nann,+14152220001,extra\nbob,bad\n"
    found = problems(spec(tmp_path, roster=roster))
    assert (
        found[0] == "oncall.csv:2:1: calls[0].each: row 1 has 3 fields, the header 2 (name, phone)"
    )
    assert found[1].startswith("oncall.csv:3:1: calls[0].to (call 'page-bob', row 2")


@pytest.mark.parametrize(
    ("roster", "expected"),
    [
        ("", "oncall.csv:1:1: calls[0].each: file is empty: expected a header row"),
        ("name,phone\n", "oncall.csv:1:1: calls[0].each: the file has a header row but no rows"),
        ("name,name\na,b\n", "oncall.csv:1:1: calls[0].each: column 'name' is named twice"),
        ('name,phone\n"ann,+1\n', "calls[0].each: CSV error: "),
    ],
)
def test_broken_csv_files(tmp_path: Path, roster: str, expected: str) -> None:
    found = problems(spec(tmp_path, roster=roster))
    assert len(found) == 1
    assert expected in found[0]


def test_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = spec(tmp_path)
    (tmp_path / "oncall.csv").write_bytes(b"name,phone\nj\xf6rg,+14152220001\n")
    assert problems(path) == [
        "oncall.csv:2:2: calls[0].each: not UTF-8 text: byte 0xf6 cannot be decoded "
        "(save it as UTF-8)"
    ]


def test_a_file_over_the_size_limit(tmp_path: Path) -> None:
    path = spec(tmp_path)
    with (tmp_path / "oncall.csv").open("r+b") as f:
        f.truncate(MAX_FILE_BYTES + 1)
    found = problems(path)
    assert len(found) == 1 and "larger than the 8 MiB limit" in found[0]


def test_a_roster_outside_the_work_tree_is_refused(tmp_path: Path) -> None:
    inside = tmp_path / "project"
    (inside / ".git").mkdir(parents=True)
    (tmp_path / "secret.csv").write_text(ROSTER)
    found = problems(spec(inside / "specs", each="../../secret.csv"))
    assert len(found) == 1
    assert "'../../secret.csv' is outside the spec's git work tree" in found[0]
    # Inside the work tree but beside the spec's folder is fine.
    (inside / "data.csv").write_text(ROSTER)
    assert len(plan(spec(inside / "specs", each="../data.csv")).calls) == 3


def test_a_symlink_out_of_the_work_tree_is_refused(tmp_path: Path) -> None:
    (tmp_path / "project" / ".git").mkdir(parents=True)
    (tmp_path / "elsewhere.csv").write_text(ROSTER)
    (tmp_path / "project" / "link.csv").symlink_to(tmp_path / "elsewhere.csv")
    found = problems(spec(tmp_path / "project", each="link.csv", roster=None))
    assert "is outside the spec's git work tree" in found[0]


@pytest.mark.parametrize(
    ("each", "expected"),
    [
        ("missing.csv", "no such data file: 'missing.csv'"),
        ("roster.txt", "'roster.txt' is not a roster: give a .csv"),
        ("[]", "[] is not a roster"),
        ("[1, 2]", "is not a roster"),
    ],
)
def test_bad_each_values(tmp_path: Path, each: str, expected: str) -> None:
    found = problems(spec(tmp_path, each=each, roster=None))
    assert len(found) == 1
    assert found[0].startswith("roster.yaml:8:11: calls[0].each: ")
    assert expected in found[0]


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("r.json", "[]", "r.json:1:1: calls[0].each: the list is empty"),
        ("r.json", "", "r.json:1:1: calls[0].each: file is empty"),
        ("r.json", '[{"name": "a"},\n 3]', "r.json:2:2: calls[0].each: row 2 is an integer"),
        ("r.json", '[{"name": "a"}\n {"b": 1}]', "r.json:2:2: calls[0].each: JSON syntax error"),
        ("r.yaml", "name: a\n", "r.yaml:1:1: calls[0].each: expected a list of mappings"),
    ],
)
def test_broken_json_and_yaml_rosters(tmp_path: Path, name: str, text: str, expected: str) -> None:
    (tmp_path / name).write_text(text)
    found = problems(spec(tmp_path, each=name, roster=None))
    assert len(found) == 1
    assert found[0].startswith(expected), found


def test_json_rows_are_located_at_their_lines(tmp_path: Path) -> None:
    rows = '[\n  {"name": "ann", "phone": "+14152220001"},\n  {"name": "ben", "phone": "x"}\n]'
    (tmp_path / "r.json").write_text(rows)
    found = problems(spec(tmp_path, each="r.json", roster=None))
    assert found[0].startswith("r.json:3:3: calls[0].to (call 'page-ben', row 2 in roster.yaml)")


def test_each_where_errors_and_each_where_without_each(tmp_path: Path) -> None:
    found = problems(spec(tmp_path, extra='    each_where: "row.tema == 1"\n'))
    # A column no row has is the spec's typo: once, at the spec's line.
    assert len(found) == 1
    assert found[0].startswith("roster.yaml:10:17: calls[0].each_where: template error: ")
    assert "column 'tema' is not in oncall.csv" in found[0]
    found = problems(spec(tmp_path, extra='    each_where: "row.name / 0"\n'))
    assert len(found) == 3  # a row's value: at each row, the call named as rendered
    assert found[0].startswith("oncall.csv:2:1: calls[0].each_where (call 'page-alice', row 1")
    path = tmp_path / "plain.yaml"
    path.write_text(HEADER + "  - name: c\n    to: '+14152220001'\n    each_where: 'true'\n")
    assert problems(path) == ["plain.yaml:6:5: calls[0]: 'each_where' needs 'each' beside it"]


def test_a_blank_rendered_name_is_an_error(tmp_path: Path) -> None:
    found = problems(spec(tmp_path, roster="name,phone\n ,+14152220001\n"))
    assert found == [
        "oncall.csv:2:1: calls[0].name (call 'page-{{ row.name }}', row 1 in roster.yaml): "
        'renders to "page- ": a call name must not be blank or begin or end with spaces'
    ]


# --- guards and destinations -------------------------------------------------------------------


def test_a_number_in_two_rows_is_a_repeated_destination(tmp_path: Path) -> None:
    roster = "name,phone\nann,+14152220001\nbob,+14152220001\n"
    found = problems(spec(tmp_path, roster=roster), unique_destinations=True)
    assert len(found) == 1
    assert found[0].startswith(
        "oncall.csv:3:1: calls[0].to (call 'page-bob', row 2 in roster.yaml)"
    )


def test_max_calls_counts_expanded_calls(tmp_path: Path) -> None:
    (tmp_path / "profiles.yaml").write_text("version: 1\nprofiles:\n  default:\n    max_calls: 2\n")
    path = spec(tmp_path)
    # Refused before anything is sent: nothing listens at the port.
    url = f"http://127.0.0.1:{free_port()}"
    result = invoke(["run", str(path), "--api-url", url], cred_env())
    assert result.exit_code == 4, result.stderr
    assert "3 calls" in result.stderr


def test_render_shows_each_expanded_call(tmp_path: Path) -> None:
    result = invoke(["render", str(spec(tmp_path))])
    assert result.exit_code == 0, result.stderr
    shown = json.loads(result.stdout)
    assert [r["call"] for r in shown] == ["page-alice", "page-bob", "page-carol"]
    assert [r["body"]["to"] for r in shown] == ["+14152220001", "+14152220002", "+14152220003"]


def test_a_template_syntax_error_is_the_specs_reported_once(tmp_path: Path) -> None:
    path = spec(tmp_path)
    path.write_text(path.read_text() + '    caller_name: "{{ row.name "\n')
    found = problems(path)
    assert len(found) == 1
    assert found[0].startswith("roster.yaml:10:18: calls[0].caller_name: template syntax error")
    found = problems(spec(tmp_path, extra='    each_where: "row.team =="\n'))
    assert len(found) == 1
    assert found[0].startswith("roster.yaml:10:17: calls[0].each_where: template syntax error")


def test_roster_errors_mask_environment_secrets(tmp_path: Path) -> None:
    token = cred_env()["PLIVO_AUTH_TOKEN"]
    roster = f"name,phone\n{token} ,+14152220001\nann,{token}\n"
    result = invoke(["validate", str(spec(tmp_path, roster=roster))], cred_env())
    assert result.exit_code == 3
    assert "row 1 in" in result.stderr and "renders to" in result.stderr  # the name
    assert "row 2 in" in result.stderr and "must be phone numbers" in result.stderr
    assert token not in result.output


def test_each_where_keeping_no_row_says_so(tmp_path: Path) -> None:
    path = spec(tmp_path, extra="    each_where: \"row.team == 'nobody'\"\n")
    path.write_text(path.read_text() + "  - name: other\n    to: '+14152229999'\n")
    result = invoke(["validate", str(path)])
    assert result.exit_code == 0, result.stderr
    assert (
        "roster.yaml:10:17: warning: calls[0].each_where: keeps no row of oncall.csv; "
        "the call places nothing"
    ) in result.stderr


# --- odd rosters and names, through the command line ------------------------------------------

EACH_SPEC = """version: 1
defaults:
  from: "+14152224444"
  answer_url: https://hooks.example.com/answer.xml
calls:
  - name: "NAME"
    each: EACH
    to: "{{ row.phone }}"
"""


def _each(folder: Path, each: str, name: str = "page-{{ row.name }}", extra: str = "") -> Path:
    """calls.yaml: one call over the roster ``each`` (its `each:` at line 7, column 11)."""
    path = folder / "calls.yaml"
    path.write_text(EACH_SPEC.replace("NAME", name).replace("EACH", each) + extra)
    return path


def _placed_to(records: list[dict[str, Any]]) -> list[str]:
    return [str(r["body"]["to"]) for r in records if r.get("placed")]


def test_a_deeply_nested_json_roster_is_a_located_error(tmp_path: Path) -> None:
    depth = 100_000
    (tmp_path / "d.json").write_text("[" + "[" * depth + "]" * depth + "]")
    result = invoke(["validate", _each(tmp_path, "d.json")])
    assert result.exit_code == ExitCode.INVALID, result.output
    assert "d.json:1:" in result.output
    assert "internal error" not in result.output


def test_a_json_roster_with_a_huge_integer_is_a_located_error(tmp_path: Path) -> None:
    (tmp_path / "d.json").write_text('[{"name": "a", "phone": ' + "1" * 5000 + "}]")
    result = invoke(["validate", _each(tmp_path, "d.json")])
    assert result.exit_code == ExitCode.INVALID, result.output
    assert "d.json:1:" in result.output
    assert "internal error" not in result.output


def test_a_json_row_naming_a_column_twice_is_refused(tmp_path: Path) -> None:
    (tmp_path / "d.json").write_text(
        '[{"name": "ann", "phone": "+14155550100", "phone": "+14155550199"}]'
    )
    result = invoke(["validate", _each(tmp_path, "d.json")])
    assert result.exit_code == ExitCode.INVALID, result.output
    assert "d.json:1:" in result.output


@pytest.mark.parametrize("where", ["spec", "command line"])
def test_a_variable_named_row_beside_each_is_a_located_error(tmp_path: Path, where: str) -> None:
    (tmp_path / "d.csv").write_text("name,phone\nann,+14155550100\n")
    path = _each(tmp_path, "d.csv")
    args: list[Any] = ["validate", path]
    if where == "spec":
        path.write_text(path.read_text().replace("defaults:", "vars:\n  row: hi\ndefaults:"))
    else:
        args += ["--var", "row=1"]
    result = invoke(args)
    assert result.exit_code == ExitCode.INVALID, result.output
    assert "internal error" not in result.output
    assert "reserved" in result.output


@pytest.mark.parametrize(
    ("file", "text", "where"),
    [
        ("d.csv", "name,phone,index\nann,+14155550100,7\n", "d.csv:1:1:"),
        ("d.json", '[{"name": "a", "phone": "+14155550100", "index": 1}]', "d.json:1:2:"),
        ("d.yaml", '- {name: a, phone: "+14155550100"}\n- {name: b, index: 2}\n', "d.yaml:2:3:"),
    ],
)
def test_a_column_named_index_is_refused_in_every_roster(
    tmp_path: Path, file: str, text: str, where: str
) -> None:
    """``row.index`` is the row's number: a column of that name would be silently replaced."""
    (tmp_path / file).write_text(text)
    result = invoke(["validate", _each(tmp_path, file)])
    assert result.exit_code == ExitCode.INVALID, result.output
    assert f"{where} calls[0].each: a column named 'index'" in result.output


def test_a_symlinked_spec_finds_its_roster_beside_the_link(tmp_path: Path) -> None:
    """A relative ``each:`` is read from the folder of the spec as it was named."""
    real, link = tmp_path / "real", tmp_path / "link"
    real.mkdir()
    link.mkdir()
    spec = _each(real, "d.csv")
    (real / "d.csv").write_text("name,phone\nann,+14155550100\n")
    (link / "d.csv").write_text("name,phone\nben,+14155550199\n")
    (link / "calls.yaml").symlink_to(spec)
    result = invoke(["render", link / "calls.yaml", "--format", "json"])
    assert result.exit_code == ExitCode.OK, result.output
    assert [r["call"] for r in json.loads(result.stdout)] == ["page-ben"]


def test_each_where_written_as_a_template_says_it_is_an_expression(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("name,phone,team\nann,+14155550100,x\n")
    path = _each(tmp_path, "d.csv")
    path.write_text(
        path.read_text().replace(
            "    each: d.csv\n", "    each: d.csv\n    each_where: \"{{ row.team == 'x' }}\"\n"
        )
    )
    result = invoke(["validate", path])
    assert result.exit_code == ExitCode.INVALID
    assert "expression" in result.output, result.output


def test_control_characters_in_a_rendered_name_do_not_reach_the_terminal(
    tmp_path: Path,
) -> None:
    write_profiles(tmp_path)
    (tmp_path / "d.csv").write_text(
        'name,phone\n"ann\x1b[31m",+14152220001\n"bob\n[9/9] fired   201 forged",+14152220002\n'
    )
    path = _each(tmp_path, "d.csv")
    with sandbox() as sb:
        result = invoke(["run", path, "--api-url", sb.url, "--rate", "200"], cred_env())
        placed = _placed_to(sb.calls)
    # Refused, each name at its row, escaped: nothing is sent.
    assert result.exit_code == ExitCode.INVALID, result.output
    assert placed == []
    assert (
        "d.csv:2:1: calls[0].name (call 'page-{{ row.name }}', row 1 in calls.yaml): "
        'renders to "page-ann\\u001b[31m": a call name must not hold control characters'
    ) in result.stderr
    assert "\x1b" not in result.output
    assert not any(line.startswith("[9/9]") for line in result.output.splitlines()), result.output


def test_a_written_call_name_with_control_characters_is_refused(tmp_path: Path) -> None:
    spec = tmp_path / "calls.yaml"
    spec.write_text(EACH_SPEC.replace("    each: EACH\n", "").replace("NAME", "a\\e[31mb"))
    result = invoke(["validate", spec])
    assert result.exit_code == ExitCode.INVALID
    assert "\x1b" not in result.output
    assert "control characters" in result.output


@pytest.mark.parametrize(
    "each",
    ['"x\\0/d.csv"', '"' + "a" * 300 + '.csv"', '"' + "a/" * 3000 + 'd.csv"'],
    ids=["nul", "long-name", "long-path"],
)
def test_an_unusable_roster_path_is_a_located_error(tmp_path: Path, each: str) -> None:
    result = invoke(["validate", _each(tmp_path, each)])
    assert result.exit_code == ExitCode.INVALID, result.output
    assert "calls.yaml:7:" in result.output
    assert "internal error" not in result.output


def test_the_only_call_keeping_no_row_is_only_a_warning(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("name,phone\nann,+14155550100\n")
    path = _each(tmp_path, "d.csv")
    path.write_text(
        path.read_text().replace("    each: d.csv\n", '    each: d.csv\n    each_where: "false"\n')
    )
    result = invoke(["validate", path])
    assert "keeps no row" in result.output
    assert "no call matches  in" not in result.output
    assert result.exit_code == ExitCode.OK, result.output


def test_a_column_some_rows_lack_is_reported_at_each_such_row(tmp_path: Path) -> None:
    """Only a column no row has is the spec's mistake; one some rows lack is theirs."""
    (tmp_path / "d.json").write_text(
        '[{"name": "a", "phone": "+14155550100", "pin": "1"},\n'
        ' {"name": "b", "phone": "+14155550101"},\n'
        ' {"name": "c", "phone": "+14155550102"}]'
    )
    path = _each(tmp_path, "d.json", extra='    caller_name: "{{ row.pin }}"\n')
    result = invoke(["validate", path])
    assert result.exit_code == ExitCode.INVALID
    assert "d.json:2:2: calls[0].caller_name (call 'page-b', row 2" in result.output
    assert "d.json:3:2: calls[0].caller_name (call 'page-c', row 3" in result.output


def test_yaml_roster_words_stay_as_written_and_true_stays_a_boolean(tmp_path: Path) -> None:
    (tmp_path / "d.yaml").write_text(
        '- {name: NO, phone: "+14155550100", on: yes, ok: true}\n'
        '- name: Off\n  phone: "+14155550101"\n  on: y\n  ok: False\n'
    )
    extra = '    caller_name: "{{ row.on }}-{{ row.ok }}"\n'
    result = invoke(["render", _each(tmp_path, "d.yaml", extra=extra), "--format", "json"])
    assert result.exit_code == ExitCode.OK, result.output
    for shown in ('"page-NO"', '"yes-True"', '"page-Off"', '"y-False"'):
        assert shown in result.output, result.output
    assert "page-False" not in result.output


def test_a_run_whose_each_where_keeps_no_row_sends_nothing_and_says_so(tmp_path: Path) -> None:
    write_profiles(tmp_path)
    (tmp_path / "d.csv").write_text("name,phone\nann,+14155550100\n")
    path = _each(tmp_path, "d.csv")
    path.write_text(
        path.read_text().replace("    each: d.csv\n", '    each: d.csv\n    each_where: "false"\n')
    )
    report = tmp_path / "r.json"
    with sandbox() as sb:
        result = invoke(["run", path, "--api-url", sb.url, "--report", report], cred_env())
        assert sb.calls == []
    assert result.exit_code == ExitCode.OK, result.output
    assert "keeps no row" in result.stderr
    assert read_report(report)["calls"] == []
