"""Building a plan: files, profiles, precedence, rendering, and every problem in one SpecError."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import EXAMPLES, ROOT

from callspec.errors import SpecError, UsageError
from callspec.spec.plan import Plan, PlanOptions, build_plan, collect_spec_files
from callspec.spec.profiles import PROFILES_ENV, ProfilesFile, find_profiles_file

PRECEDENCE = EXAMPLES / "precedence"
CALL = """version: 1
calls:
  - name: c
    from: "+14152224444"
    to: "+14152223333"
    answer_url: https://hooks.example.com/answer.xml
"""


@pytest.fixture(autouse=True)
def _in_examples(monkeypatch: pytest.MonkeyPatch) -> None:
    """Paths print relative to the working directory; discovery must not see a stray env var."""
    monkeypatch.chdir(EXAMPLES)
    monkeypatch.delenv(PROFILES_ENV, raising=False)


def plan(*paths: str | Path, environ: dict[str, str] | None = None, **options: object) -> Plan:
    return build_plan([Path(p) for p in paths], PlanOptions(**options), environ or {})  # type: ignore[arg-type]


def problems(*paths: str | Path, **options: object) -> list[str]:
    with pytest.raises(SpecError) as info:
        plan(*paths, **options)
    return [str(p) for p in info.value.problems]


def bodies(result: Plan) -> dict[str, dict[str, object]]:
    return {c.name: dict(c.body) for c in result.calls}


# --- files -----------------------------------------------------------------------------


def test_collect_spec_files(tmp_path: Path) -> None:
    for name in ("b.yaml", "a.yml", "profiles.yaml", "profiles.yml", "c.txt", "sub/d.yaml"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("x")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "e.yaml").write_text("x")
    found = collect_spec_files([tmp_path, tmp_path / "b.yaml", tmp_path / "profiles.yaml"])
    # sorted, without profiles files from folders, hidden folders or duplicates;
    # a profiles file named explicitly is taken as given
    assert found == [
        tmp_path / "a.yml",
        tmp_path / "b.yaml",
        tmp_path / "sub" / "d.yaml",
        tmp_path / "profiles.yaml",
    ]


def test_collect_missing_path(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file or folder"):
        collect_spec_files([tmp_path / "nope.yaml"])
    with pytest.raises(UsageError, match="no spec files found"):
        collect_spec_files([tmp_path])


def test_symlink_loops_are_reported_not_skipped(tmp_path: Path) -> None:
    (tmp_path / "self.yaml").symlink_to("self.yaml")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "ping").symlink_to("pong")  # a ring of two, whatever their names
    (tmp_path / "sub" / "pong").symlink_to("ping")
    (tmp_path / "sub" / "ok.yaml").write_text(CALL)
    assert collect_spec_files([tmp_path / "self.yaml"]) == [tmp_path / "self.yaml"]
    assert collect_spec_files([tmp_path]) == [
        tmp_path / "self.yaml",
        tmp_path / "sub" / "ok.yaml",
        tmp_path / "sub" / "ping",
        tmp_path / "sub" / "pong",
    ]
    loop = "cannot read file: it is a symlink loop (too many levels of symbolic links)"
    assert problems(tmp_path) == [
        f"{tmp_path / name}: {loop}" for name in ("self.yaml", "sub/ping", "sub/pong")
    ]


def test_a_profiles_file_that_is_a_symlink_loop_is_reported(tmp_path: Path) -> None:
    (tmp_path / "profiles.yaml").symlink_to("profiles.yaml")
    (tmp_path / "spec.yaml").write_text(CALL)
    assert problems(tmp_path / "spec.yaml") == [
        f"{tmp_path / 'profiles.yaml'}: cannot read file: it is a symlink loop "
        "(too many levels of symbolic links)"
    ]


def test_plan_of_a_folder() -> None:
    result = plan("valid")
    assert result.files == tuple(
        f"valid/{p.name}" for p in sorted((EXAMPLES / "valid").glob("*.yaml"))
    )
    assert len(result.calls) == len({(c.spec_file, c.name) for c in result.calls})
    first = result.calls[0]
    assert first.spec_file == "valid/caller-name.yaml"
    assert (first.index, first.name, first.line, first.tags) == (0, "fifty", 11, ())
    assert first.profile is None
    # The identity is relative to the git work tree: it survives moving the checkout.
    assert first.spec_path == "tests/examples/valid/caller-name.yaml"
    assert first.abs_path == str(EXAMPLES / "valid" / "caller-name.yaml")


def test_call_order_is_file_order() -> None:
    result = plan("valid/send-digits.yaml")
    assert [c.name for c in result.calls] == ["waits", "duration", "all-keys", "number"]
    assert [c.index for c in result.calls] == [0, 1, 2, 3]


def test_paths_outside_the_working_directory_print_as_given(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(CALL)
    assert plan(tmp_path / "s.yaml").files == (str(tmp_path / "s.yaml"),)


# --- problems: all of them, in file order ---------------------------------------------------


def test_problems_of_every_file_in_one_error() -> None:
    found = problems("invalid/unknown-key.yaml", "multi/three-defects.yaml", "valid")
    assert len(found) == 4
    assert found[0].startswith("invalid/unknown-key.yaml:")
    assert all(p.startswith("multi/three-defects.yaml:") for p in found[1:])


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch folder as the working directory."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        (
            "    to: '+14155550101'\n"
            "    sip_headers:\n      a: '1'\n      f: '{{ pin | b64encode }}'\n",
            "s.yaml:9:10: calls[0].sip_headers.f: template syntax error: "
            "No filter named 'b64encode'.",
        ),
        (
            "    to: ['+14155550102', '{{ nope }}']\n",
            "s.yaml:6:26: calls[0].to[1]: template error: variable 'nope' is not defined",
        ),
    ],
    ids=["mapping-entry", "list-item"],
)
def test_a_template_error_in_an_entry_is_located_at_the_entry(
    scratch: Path, arg: str, expected: str
) -> None:
    text = (
        "version: 1\ncalls:\n  - name: x\n    from: '+14155550100'\n"
        "    answer_url: https://h.example.com/a\n" + arg
    )
    (scratch / "s.yaml").write_text(text)
    assert problems("s.yaml") == [expected]


def test_problems_are_unique(scratch: Path) -> None:
    """A spec variable that fails fails for every call: reported once."""
    text = "version: 1\nvars:\n  a: '{{ nope }}'\ncalls:\n  - name: x\n  - name: y\n"
    (scratch / "s.yaml").write_text(text)
    found = problems("s.yaml")
    assert found == ["s.yaml:3:6: vars.a: template error: variable 'nope' is not defined"]


def test_duplicate_call_name_keeps_the_first(scratch: Path) -> None:
    text = CALL + "  - name: c\n    time_limit: 0\n"
    (scratch / "s.yaml").write_text(text)
    assert problems("s.yaml") == [
        "s.yaml:7:11: calls[1].name: duplicate call name 'c' (first at line 3)"
    ]


def test_spec_shape_errors_stop_that_file_only(scratch: Path) -> None:
    (scratch / "a.yaml").write_text("version: 1\ncalls:\n  - name: a\n    nope: 1\n")
    (scratch / "b.yaml").write_text(CALL.replace('"+14152223333"', '"+1"'))
    found = problems("a.yaml", "b.yaml")
    assert [p.split(":")[0] for p in found] == ["a.yaml", "b.yaml"]


# --- selection ----------------------------------------------------------------------------------


def test_only_and_tags() -> None:
    spec = "precedence/spec.yaml"
    assert [c.name for c in plan(spec).calls] == ["plain", "override"]
    assert [c.name for c in plan(spec, only=("override",)).calls] == ["override"]
    assert [c.name for c in plan(spec, tags=("first",)).calls] == ["plain"]
    assert [c.name for c in plan(spec, tags=("both", "first")).calls] == ["plain", "override"]
    assert plan(spec, tags=("second",)).calls[0].tags == ("second", "both")
    with pytest.raises(UsageError, match="--only: no call named 'nosuch'"):
        plan(spec, only=("nosuch",))
    with pytest.raises(UsageError, match="no call matches"):
        plan(spec, tags=("nosuch",))


# --- profiles and precedence ----------------------------------------------------------------------


def test_profile_chain_parent_first() -> None:
    result = plan("precedence/spec.yaml")
    profile = result.calls[0].profile
    assert profile is not None
    assert (profile.name, profile.chain, profile.file) == (
        "team",
        ("base", "team"),
        "precedence/profiles.yaml",
    )
    assert profile.secrets == ("pin",)


def test_precedence_of_arguments_and_variables() -> None:
    result = bodies(plan("precedence/spec.yaml"))
    assert result["plain"] == {
        "from": "+14152224444",  # base
        "answer_url": "https://hooks.example.com/base.xml",  # base, rendered with base's who
        "caller_name": "base-team-spec",  # the call; vars from base, team and the spec
        "ring_timeout": 20,  # team over base
        "time_limit": 30,  # spec defaults over team
        "hangup_on_ring": 30,  # spec defaults over base
        "to": "+14152223333",  # spec defaults
    }
    assert result["override"]["hangup_on_ring"] == 40  # the call over spec defaults
    assert result["override"]["caller_name"] == "call-spec"  # call vars over spec vars


def test_vars_file_and_var() -> None:
    options = {"vars_file": PRECEDENCE / "vars.yaml"}
    assert bodies(plan("precedence/spec.yaml", **options))["override"]["caller_name"] == "file-file"
    options["vars"] = (("tier", "cli"), ("tier", "last"))
    assert bodies(plan("precedence/spec.yaml", **options))["override"]["caller_name"] == "last-file"


def test_profile_option_and_profiles_option() -> None:
    result = bodies(plan("precedence/spec.yaml", profile="other"))
    assert result["plain"]["ring_timeout"] == 15
    result = bodies(
        plan(
            "profiles-elsewhere/spec.yaml",
            profiles=EXAMPLES / "profiles-elsewhere" / "elsewhere.yaml",
        )
    )
    assert result["elsewhere"]["from"] == "+14152227777"


def test_secret_values() -> None:
    [plain, override] = plan("precedence/spec.yaml").calls
    assert plain.secret_values == frozenset({"97531"})
    assert override.body["send_digits"] == "97531"  # the plan holds the value; outputs mask it
    assert plan("precedence/spec.yaml", vars=(("pin", "1234"),)).calls[0].secret_values == {"1234"}


def test_environ_is_the_template_environment(scratch: Path) -> None:
    (scratch / "s.yaml").write_text(
        CALL + "    caller_name: \"{{ env.CALLER | default('none') }}\"\n"
    )
    assert bodies(plan("s.yaml", environ={"CALLER": "from-env"}))["c"]["caller_name"] == "from-env"
    assert bodies(plan("s.yaml", environ={}))["c"]["caller_name"] == "none"


def test_call_name_and_index_in_templates(scratch: Path) -> None:
    text = CALL.replace("  - name: c\n", "  - name: first\n") + (
        '    caller_name: "{{ call.name }}/{{ call.index }}"\n'
        "  - name: second\n"
        '    from: "+14152224444"\n'
        '    to: "+14152225555"\n'
        "    answer_url: https://hooks.example.com/answer.xml\n"
        '    caller_name: "{{ call.name }}/{{ call.index }}"\n'
    )
    (scratch / "s.yaml").write_text(text)
    result = bodies(plan("s.yaml"))
    assert result["first"]["caller_name"] == "first/0"
    assert result["second"]["caller_name"] == "second/1"


def test_rendering_does_not_depend_on_other_calls(scratch: Path) -> None:
    (scratch / "s.yaml").write_text(
        "version: 1\n"
        "defaults:\n"
        '  from: "+14152224444"\n'
        "  answer_url: https://hooks.example.com/answer.xml\n"
        '  to: "{{ num }}"\n'
        "calls:\n"
        "  - name: with-plus\n"
        "    vars: {num: +14152223333}\n"
        "  - name: without-plus\n"
        "    vars: {num: 14152223333}\n"
    )
    result = bodies(plan("s.yaml"))
    assert result["with-plus"]["to"] == "+14152223333"
    assert result["without-plus"]["to"] == "14152223333"


def test_key_is_stable_and_tells_calls_apart() -> None:
    first = plan("precedence/spec.yaml").calls
    again = plan("precedence/spec.yaml").calls
    assert [c.key for c in first] == [c.key for c in again]
    assert first[0].key != first[1].key
    changed = plan("precedence/spec.yaml", vars=(("tier", "x"),)).calls
    assert changed[0].key != first[0].key


def test_key_does_not_depend_on_the_working_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    here = plan("precedence/spec.yaml").calls[0].key
    monkeypatch.chdir(ROOT)
    assert plan("tests/examples/precedence/spec.yaml").calls[0].key == here


# --- profiles files -------------------------------------------------------------------------------


def test_find_profiles_file(tmp_path: Path) -> None:
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    (tmp_path / "profiles.yml").write_text("x")
    assert find_profiles_file(None, deep, {}) == tmp_path / "profiles.yml"
    (tmp_path / "a" / "profiles.yaml").write_text("x")
    assert find_profiles_file(None, deep, {}) == tmp_path / "a" / "profiles.yaml"
    env = {PROFILES_ENV: "env.yaml"}  # the environment is passed in, never read behind it
    assert find_profiles_file(None, deep, env) == Path("env.yaml")
    assert find_profiles_file(Path("given.yaml"), deep, env) == Path("given.yaml")


def test_resolve_unknown_and_cycle() -> None:
    profiles = ProfilesFile.load(EXAMPLES / "invalid" / "profile-cycle" / "profiles.yaml", "p.yaml")
    assert profiles.names() == ["a", "b", "c"]
    with pytest.raises(SpecError) as info:
        profiles.resolve("b", None)
    assert [str(p) for p in info.value.problems] == ["p.yaml:8:14: extends cycle: b -> a -> c -> b"]
    with pytest.raises(SpecError) as info:
        profiles.resolve("zzz", None)
    assert (
        str(info.value.problems[0]) == "p.yaml: unknown profile 'zzz' (defined in p.yaml: a, b, c)"
    )


def test_profile_values_are_located_in_the_profiles_file() -> None:
    [problem] = problems("invalid/profile-range/spec.yaml")
    assert problem.startswith("invalid/profile-range/profiles.yaml:10:31: ")


def test_a_broken_profiles_file_is_reported_once(scratch: Path) -> None:
    (scratch / "profiles.yaml").write_text("version: 1\nprofiles:\n  default:\n    rate: 0\n")
    (scratch / "a.yaml").write_text(CALL)
    (scratch / "b.yaml").write_text(CALL)
    assert problems(".") == [
        "profiles.yaml:4:11: profiles.default.rate: 0 is less than or equal to the minimum of 0"
    ]
