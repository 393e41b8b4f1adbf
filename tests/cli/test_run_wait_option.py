"""``run --wait [SECONDS]``: the next word is the wait only when it is a number."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import invoke, read_report, write_spec

from callspec.errors import ExitCode


@pytest.mark.parametrize(
    ("words", "wait"),
    [
        (["--wait", "{spec}"], 120),  # a path after --wait is a spec: the default wait
        (["--wait", "7.5", "{spec}"], 7.5),  # explicit seconds still work
        (["{spec}", "--wait"], 120),  # --wait last
        (["--wait=30", "{spec}"], 30),
    ],
)
def test_wait_takes_the_next_word_only_when_it_is_a_number(
    tmp_path: Path, words: list[str], wait: float
) -> None:
    spec = write_spec(tmp_path, 1)
    report = tmp_path / "r.json"
    args = [w.format(spec=spec) for w in words]
    result = invoke(["run", *args, "--dry-run", "--report", report])
    assert result.exit_code == ExitCode.OK, result.output
    assert read_report(report)["options"]["wait"] == wait
