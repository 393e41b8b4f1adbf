"""Start-up pays only for what a command needs: ``--version``, ``--help`` and ``schema``
load none of jsonschema, Jinja, requests or PyYAML (issue 9's first target, checked
by what is imported, never by timing)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import ROOT, cred_env, sandbox

HEAVY = ("jsonschema", "jinja2", "requests", "yaml", "urllib3")
PROBE = """
import runpy, sys
sys.argv = ["callspec", *sys.argv[1:]]
try:
    runpy.run_module("callspec", run_name="__main__")
except SystemExit:
    pass
print("LOADED:" + ",".join(m for m in {heavy!r} if m in sys.modules), file=sys.stderr)
"""


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["run", "--help"], ["schema", "call"]])
def test_light_commands_load_no_heavy_library(args: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    loaded = done.stderr.rsplit("LOADED:", 1)[1].strip()
    assert loaded == "", f"{args} loaded {loaded}"


def test_validate_loads_what_it_needs() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), "validate", "specs/"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert "yaml" in done.stderr.rsplit("LOADED:", 1)[1]  # the probe sees real loads


def test_a_dry_run_never_loads_the_http_stack(tmp_path: Path) -> None:
    # requests loads when the first worker starts (after the plan is built, so its
    # modules reuse the memory the spec's document left): a dry run never needs it.
    report = tmp_path / "report.json"
    args = ["run", "specs/", "--dry-run", "--report", str(report), "--no-progress"]
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    loaded = done.stderr.rsplit("LOADED:", 1)[1].strip().split(",")
    assert "yaml" in loaded  # the spec was read
    assert "requests" not in loaded and "urllib3" not in loaded, loaded
    assert report.exists()


PLAIN_SPEC = """version: 1
defaults: {from: '+14152224444'}
calls:
  - name: c0
    to: '+14155550000'
    answer_url: https://hooks.example.com/a.xml?call=0
"""


def _probe(args: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    probe = PROBE.format(heavy=(*HEAVY, "fastjsonschema", "referencing"))
    done = subprocess.run(
        [sys.executable, "-c", probe, *args], capture_output=True, text=True, cwd=cwd, timeout=60
    )
    return done, done.stderr.rsplit("LOADED:", 1)[1].strip().split(",")


@pytest.mark.parametrize(
    "command", [["validate"], ["run", "--dry-run", "--no-progress", "--report", "r.json"]]
)
def test_a_valid_spec_without_templates_loads_neither_jinja_nor_jsonschema(
    tmp_path: Path, command: list[str]
) -> None:
    # The fast check derived from the schemas says "valid"; Jinja loads with a template.
    (tmp_path / "one.yaml").write_text(PLAIN_SPEC)
    done, loaded = _probe([command[0], "one.yaml", *command[1:]], tmp_path)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert "yaml" in loaded  # the probe sees real loads
    for heavy in ("jinja2", "jsonschema", "fastjsonschema", "referencing"):
        assert heavy not in loaded, loaded
    if command[0] == "validate":
        assert done.stdout == "OK: 1 call in 1 file valid\n"
        assert done.stderr.startswith("LOADED:"), done.stderr  # no warning either
    else:
        assert "+14155550000" in (tmp_path / "r.json").read_text()


def test_a_spec_with_templates_still_renders(tmp_path: Path) -> None:
    spec = PLAIN_SPEC.replace("call=0", "call={{ 40 + 2 }}&n={{ name }}").replace(
        "calls:", "vars: {name: bob}\ncalls:"
    )
    (tmp_path / "one.yaml").write_text(spec)
    args = ["run", "one.yaml", "--dry-run", "--no-progress", "--report", "r.json"]
    done, loaded = _probe(args, tmp_path)
    assert "jinja2" in loaded and "jsonschema" not in loaded, loaded
    assert "a.xml?call=42&n=bob" in (tmp_path / "r.json").read_text(), done.stderr


def test_an_invalid_spec_loads_the_validator_for_its_messages(tmp_path: Path) -> None:
    (tmp_path / "one.yaml").write_text(PLAIN_SPEC.replace("answer_url", "answer_ulr"))
    done, loaded = _probe(["validate", "one.yaml"], tmp_path)
    assert "jsonschema" in loaded and "jinja2" not in loaded, loaded
    assert (
        "one.yaml:6:5: calls[0].answer_ulr: unknown key 'answer_ulr'" in done.stdout + done.stderr
    )


AT_FIRST_CONNECT = """
import json, runpy, socket, sys
connect = socket.socket.connect
def first(self, address):
    if not getattr(first, "seen", False):
        first.seen = True
        print("LOADED:" + json.dumps(sorted(sys.modules)), file=sys.stderr)
    return connect(self, address)
socket.socket.connect = first
sys.argv = ["callspec", *sys.argv[1:]]
try:
    runpy.run_module("callspec", run_name="__main__")
except SystemExit:
    pass
"""


@pytest.fixture(scope="module")
def loaded_at_first_post(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """The modules ``callspec run one.yaml`` (one plain call) has loaded when its POST
    connects to the sandbox: one run, read by each test below."""
    folder = tmp_path_factory.mktemp("first-post")
    (folder / "one.yaml").write_text(PLAIN_SPEC)
    with sandbox() as box:
        args = ["run", "one.yaml", "--api-url", box.url, "--report", "r.json", "--no-progress"]
        done = subprocess.run(
            [sys.executable, "-c", AT_FIRST_CONNECT, *args],
            capture_output=True,
            text=True,
            cwd=folder,
            env={**os.environ, **cred_env(), "PYTHONPATH": str(ROOT)},
            timeout=60,
        )
    assert done.returncode == 0 and len(box.calls) == 1, done.stderr
    return set(json.loads(done.stderr.split("LOADED:", 1)[1].splitlines()[0]))


def test_the_first_post_goes_out_before_what_only_the_report_needs(
    loaded_at_first_post: set[str],
) -> None:
    """Issue 20: ``run`` loads only what it runs; the reporters (and the other commands, and
    the check stage) load after the call was placed, or never."""
    loaded = loaded_at_first_post
    assert "requests" in loaded  # the probe ran at the send
    later = {
        *(f"callspec.report.{m}" for m in ("document", "json", "junit", "html", "text", "github")),
        *(f"callspec.cli.{m}" for m in ("validate", "render", "report", "explain", "importer")),
        "callspec.check.checker",
        "callspec.check.model",
        "xml.etree.ElementTree",
        "markupsafe",
    }
    assert sorted(loaded & later) == []


def test_a_plain_call_goes_out_before_escalation_wait_resume_and_roster_code(
    loaded_at_first_post: set[str],
) -> None:
    """Issue 20 §7: a call with no ``escalate:``, ``each:``, ``--wait`` or ``--resume`` is
    placed before the modules only those need are loaded (most of the send stage's)."""
    loaded = loaded_at_first_post
    assert "callspec.delivery.runner" in loaded  # the probe ran at the send
    only_for_some_runs = {
        *(f"callspec.delivery.{m}" for m in ("chains", "escalate", "follow", "hangup")),
        *(f"callspec.delivery.{m}" for m in ("reads", "legs", "callstate", "resume")),
        "callspec.spec.rosters",
        "difflib",  # did-you-mean: only to word a problem
    }
    assert sorted(loaded & only_for_some_runs) == []


def test_a_run_without_check_never_loads_the_check_stage(tmp_path: Path) -> None:
    """The terminal summary and the reports name a check's verdict only when the run has
    checks: a run without ``--check`` loads none of the check stage (its model's classes)."""
    (tmp_path / "one.yaml").write_text(PLAIN_SPEC)
    stage = ("callspec.check.model", "callspec.check.checker", "requests")
    with sandbox() as box:
        args = ["run", "one.yaml", "--api-url", box.url, "--report", "r.json", "--no-progress"]
        done = subprocess.run(
            [sys.executable, "-c", PROBE.format(heavy=stage), *args],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env={**os.environ, **cred_env(), "PYTHONPATH": str(ROOT)},
            timeout=60,
        )
    assert len(box.calls) == 1, done.stderr
    assert done.stderr.rsplit("LOADED:", 1)[1].strip() == "requests"  # the probe saw the send
