"""Start-up pays only for what a command needs: ``--version``, ``--help`` and ``schema``
load none of jsonschema, Jinja, requests or PyYAML (issue 9's first target, checked
by what is imported, never by timing)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from support import ROOT

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
