"""What the pre-commit hook (``validate --changed``) checks among the changed files."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import invoke

from callspec.spec.files import hook_targets

SPEC = "version: 1\ncalls:\n  - {name: x, to: nope}\n"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32", "utf-8-sig"])
def test_a_spec_saved_in_another_encoding_is_checked_not_skipped(
    tmp_path: Path, encoding: str
) -> None:
    spec = tmp_path / "calls.yaml"
    spec.write_bytes(SPEC.encode(encoding))
    assert hook_targets([spec], {}).specs == (spec,)
    assert invoke(["validate", "--changed", spec]).exit_code == 3


def test_yaml_that_is_no_spec_is_skipped_in_any_encoding(tmp_path: Path) -> None:
    workflow = tmp_path / "ci.yml"
    workflow.write_bytes("on: push\njobs:\n  calls: {}\n".encode("utf-16"))
    assert hook_targets([workflow], {}).specs == ()


@pytest.mark.parametrize("slip", ["call", "Calls", "cals"])
def test_a_spec_whose_calls_key_is_misspelled_is_checked_as_validate_would(
    tmp_path: Path, slip: str
) -> None:
    spec = tmp_path / "page.yaml"
    spec.write_text(f"version: 1\n{slip}:\n  - {{name: x, to: '+14155550101'}}\n")
    assert hook_targets([spec], {}).specs == (spec,)
    hooked, validated = invoke(["validate", "--changed", spec]), invoke(["validate", spec])
    assert hooked.exit_code == validated.exit_code == 3
    assert hooked.stderr == validated.stderr
    assert f"unknown key '{slip}'; did you mean 'calls'?" in hooked.stderr
