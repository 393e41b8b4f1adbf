"""docs/rotations.md, run as written: its files are written, its commands run in order in
an empty folder, and each command's output is the text block that follows it."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml
from support import ROOT, invoke

from callspec.errors import ExitCode

PAGE = ROOT / "docs" / "rotations.md"


def _blocks() -> list[tuple[str, str, str]]:
    """(language, title, text) of each code block, in order."""
    found = re.findall(r"```(\w+)(?: ([^\n]*))?\n(.*?)```", PAGE.read_text(), re.S)
    return [(lang, title.strip(), text) for lang, title, text in found]


def test_the_page_shows_a_schedule_file_and_the_check_that_catches_a_gap():
    titles = [title for lang, title, _ in _blocks() if lang == "yaml"]
    assert titles == [
        "oncall/profiles.yaml",
        "oncall/page.yaml",
        "oncall/profiles.yaml (the change)",
        ".github/workflows/oncall.yml",
    ]


def test_the_page_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    blocks = _blocks()
    ran = 0
    for i, (lang, title, text) in enumerate(blocks):
        if lang == "yaml" and title.endswith("(the change)"):
            path = tmp_path / title.split(" ")[0]
            # The change goes where the page says: with the rotation's other settings.
            changed = re.sub(
                r"(?m)^(    shift: .*\n)", lambda m, text=text: m.group(1) + text, path.read_text()
            )
            assert changed != path.read_text()
            path.write_text(changed)
        elif lang == "yaml" and title.startswith(".github/"):
            steps = yaml.safe_load(text)["jobs"]["check"]["steps"]
            commands = [s["run"] for s in steps if "run" in s]
            assert commands[1:] == [
                "callspec validate oncall/ --format github",
                "callspec oncall backend oncall/ --days 28",
            ]
        elif lang == "yaml":
            path = tmp_path / title
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        elif lang == "sh":
            command = text.strip()
            args = shlex.split(command)
            target = None
            if ">" in args:
                target = tmp_path / args[args.index(">") + 1]
                args = args[: args.index(">")]
            assert args[0] == "callspec"
            result = invoke(args[1:])
            ran += 1
            if target is not None:
                assert result.exit_code == ExitCode.OK, result.stderr
                target.write_text(result.stdout)
                assert result.stdout.startswith("BEGIN:VCALENDAR")
                continue
            lang_next, _, expected = blocks[i + 1]
            assert lang_next == "text", f"no output shown after {command}"
            shown = result.stdout if result.exit_code == ExitCode.OK else result.stderr
            shown = re.sub(r"\d+\.\d\d s\)", "0.00 s)", shown)  # the run's duration
            assert shown == expected, command
    assert ran == 4
