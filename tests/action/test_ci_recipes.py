"""The action's commands run as a runner runs them, and the CI recipes: checked against
the schemas check-jsonschema ships (offline), and the paging recipe run end to end."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from github_runner import annotations, fill_expressions, run_action, run_workflow_step
from jinja2.filters import do_urlencode
from support import ROOT, cred_env, sandbox, write_spec

from callspec.errors import ExitCode

RECIPES = ROOT / "examples"


def test_the_action_runs_the_examples_on_the_sandbox(tmp_path: Path) -> None:
    args = "--sandbox --rate 100"  # not the profiles' 2 calls a second
    done = run_action(tmp_path, ROOT, {"command": "run", "paths": "specs/", "args": args})
    assert done.code == ExitCode.OK
    assert done.outputs["exit-code"] == "0"
    assert (done.outputs["fired"], done.outputs["failed"], done.outputs["unknown"]) == (
        "10",
        "0",
        "0",
    )
    assert Path(done.outputs["report"]).is_file()
    assert "10 calls: 10 fired" in done.stdout + done.summary  # the summary callspec wrote


def test_the_action_annotates_invalid_specs(tmp_path: Path) -> None:
    done = run_action(
        tmp_path,
        ROOT,
        {"command": "validate", "paths": "tests/examples/invalid/answer-url-ftp.yaml"},
    )
    assert done.code == ExitCode.INVALID
    assert (done.outputs["exit-code"], done.outputs["invalid"]) == ("3", "1")
    [annotation] = annotations(done.stdout)
    assert annotation.startswith(
        "::error file=tests/examples/invalid/answer-url-ftp.yaml,line=8,col=17,"
        "title=callspec%3A calls[0].answer_url::'ftp://hooks.example.com/answer.xml' must be"
    )


def test_the_action_validates_clean_specs(tmp_path: Path) -> None:
    done = run_action(tmp_path, ROOT, {"command": "validate", "paths": "specs/"})
    assert (done.code, done.outputs["exit-code"], done.outputs["invalid"]) == (0, "0", "0")
    assert annotations(done.stdout) == []


def test_a_run_failing_early_reports_no_earlier_run_s_report(tmp_path: Path) -> None:
    project = tmp_path / "repo"
    project.mkdir()
    write_spec(project, 1, answer_url="https://hooks.example.com/a")
    inputs = {"command": "run", "paths": "calls.yaml", "args": "--sandbox"}
    done = run_action(tmp_path, project, inputs)
    assert (done.code, done.outputs["fired"]) == (0, "1")
    done = run_action(tmp_path, project, {**inputs, "args": "--sandbox --no-such-option"})
    assert done.code == ExitCode.USAGE
    assert (done.outputs["fired"], done.outputs["report"]) == ("0", "")


def test_multiline_paths_are_all_checked(tmp_path: Path) -> None:
    done = run_action(
        tmp_path,
        ROOT,
        {"command": "validate", "paths": "specs/\ntests/examples/invalid/answer-url-ftp.yaml\n"},
    )
    assert (done.code, done.outputs["invalid"]) == (ExitCode.INVALID, "1")


def test_a_usage_error_of_validate_counts_no_invalid_spec(tmp_path: Path) -> None:
    done = run_action(tmp_path, ROOT, {"command": "validate", "paths": "specs/\nnope.yaml"})
    assert (done.code, done.outputs["exit-code"], done.outputs["invalid"]) == (2, "2", "0")
    assert annotations(done.stdout) == ["::error title=callspec::no such file or folder: nope.yaml"]


def test_args_with_a_quoted_value(tmp_path: Path) -> None:
    done = run_action(
        tmp_path, ROOT, {"command": "validate", "paths": "specs/", "args": '--var "note=two words"'}
    )
    assert done.code == ExitCode.OK  # split at the space, 'words"' would be a path: exit 2


def test_a_bad_command_cannot_forge_workflow_commands(tmp_path: Path) -> None:
    done = run_action(
        tmp_path,
        ROOT,
        {"command": "x\n::add-mask::forged\n::warning::forged", "paths": "specs/"},
    )
    assert done.code == ExitCode.USAGE
    assert annotations(done.stdout) == [
        "::error title=callspec%3A inputs.command::must be validate, check or run, not "
        "'x\\n::add-mask::forged\\n::warning::forged'; nothing was run"
    ]


# --- the recipes ---------------------------------------------------------------------------


def test_page_on_failure_pages_with_the_failing_job_and_the_run_url(tmp_path: Path) -> None:
    workflow = yaml.safe_load((RECIPES / "github-actions" / "page-on-failure.yml").read_text())
    job = workflow["jobs"]["page"]
    assert (job["if"], job["needs"]) == ("failure()", ["test", "deploy"])
    steps = {step.get("id"): step for step in job["steps"]}
    needs = {
        "test": {"result": "success", "outputs": {}},
        "deploy": {"result": "failure", "outputs": {}},
    }
    failed = run_workflow_step(tmp_path, steps["failed"], {"toJSON(needs)": json.dumps(needs)})
    assert failed == {"jobs": "deploy"}
    # The page step's inputs, as GitHub fills them in for the action.
    context = {
        "steps.failed.outputs.jobs": failed["jobs"],
        "github.server_url": "https://github.com",
        "github.repository": "acme/shop",
        "github.run_id": "4242",
    }
    inputs = {k: fill_expressions(str(v), context) for k, v in steps["page"]["with"].items()}
    project = tmp_path / "repo"
    (project / "specs").mkdir(parents=True)
    shutil.copy(RECIPES / "specs" / "ci-page.yaml", project / "specs" / "ci-page.yaml")
    with sandbox() as box:  # Plivo, for this test: the profile sends there
        profiles = {"version": 1, "profiles": {"default": {"api_url": box.url}}}
        (project / "profiles.yaml").write_text(yaml.safe_dump(profiles))
        done = run_action(tmp_path, project, inputs, env=cred_env())
        [record] = box.calls
    assert (done.code, done.outputs["exit-code"], done.outputs["fired"]) == (0, "0", "1")
    run_url = "https://github.com/acme/shop/actions/runs/4242"
    assert record["body"]["answer_url"] == (
        "https://hooks.example.com/ci-failed.xml"
        f"?job={do_urlencode('deploy')}&run_url={do_urlencode(run_url)}"
    )


def test_the_paging_spec_validates_without_its_variables(tmp_path: Path) -> None:
    done = run_action(tmp_path, RECIPES, {"command": "validate", "paths": "specs/ci-page.yaml"})
    assert (done.code, done.outputs["invalid"]) == (0, "0")


@pytest.mark.parametrize(
    ("schema", "folder", "files"),
    [
        ("vendor.github-actions", ROOT, ["action.yml"]),
        (
            "vendor.github-workflows",
            RECIPES / "github-actions",
            sorted(os.listdir(RECIPES / "github-actions")),
        ),
        ("vendor.gitlab-ci", RECIPES / "gitlab", [".gitlab-ci.yml"]),
    ],
)
def test_recipes_match_their_platforms_schema(schema: str, folder: Path, files: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *files],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
