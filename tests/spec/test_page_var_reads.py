"""A ``--var`` read only by a page's ``message`` or ``voice`` is read: no "no template
reads" warning for it (those keys are rendered beside the call's arguments)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import invoke

from callspec.errors import ExitCode


@pytest.mark.parametrize(
    ("keys", "value"),
    [
        ('    message: "hi {{ s }}"\n', "hello"),
        ('    message: "hi"\n    voice: {language: "{{ s }}"}\n', "en-US"),
    ],
)
def test_a_var_read_only_by_a_page_key_is_no_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keys: str, value: str
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = tmp_path / "p.yaml"
    spec.write_text(
        "version: 1\n"
        "calls:\n"
        "  - name: page\n"
        "    from: '+14152224444'\n"
        "    to: '+14155550102'\n" + keys
    )
    value = (
        "hello" if "message" in keys.split("voice")[0] and "{{" in keys.split("\n")[0] else "en-US"
    )
    result = invoke(["validate", spec, "--var", f"s={value}"])
    assert result.exit_code == ExitCode.OK, result.stderr
    assert result.stderr == ""
