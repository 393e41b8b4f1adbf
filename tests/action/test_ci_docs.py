"""docs/ci.md says what action.yml does: every input and output, and its argv example."""

from __future__ import annotations

import re

import yaml
from github_runner import action
from support import ROOT

from callspec.action.inputs import split_args, split_argv

DOC = (ROOT / "docs" / "ci.md").read_text()


def table(heading: str) -> list[str]:
    """The names in the first column of the table under ``## heading``."""
    section = DOC.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return [name for row in rows for name in re.findall(r"`([\w-]+)`", row.split("|")[1])]


def test_every_input_and_output_is_documented() -> None:
    doc = action()
    assert sorted(table("Inputs")) == sorted(doc["inputs"])
    assert sorted(table("Outputs")) == sorted(doc["outputs"])


def test_the_argv_example_and_its_args_line_say_the_same() -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", DOC, re.S)
    [step] = [yaml.safe_load(b)[0] for b in blocks if "argv: |" in b]
    [line] = [yaml.safe_load(b) for b in blocks if b.lstrip().startswith("args:")]
    assert split_argv(step["with"]["argv"]) == split_args(line["args"])
    assert split_args(line["args"]) == ("--tag", "sev1", "--var", "reason=deploy didn't finish")
