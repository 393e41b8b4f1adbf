"""``callspec explain``'s output: a table per call for people, or one JSON document.

The data is :mod:`callspec.spec.explain`'s, values already masked; this module
lays it out, each line's controls escaped (:mod:`callspec.text`).  A long value
is cut short (its length said) so the table stays readable; ``--format json``
keeps every value whole.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from callspec.report.base import one_line
from callspec.spec.explain import CallExplained
from callspec.spec.origins import Origin
from callspec.text import escape_controls

VALUE_WIDTH = 80


def _value_text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = one_line(text)
    if len(text) > VALUE_WIDTH:
        text = f"{text[: VALUE_WIDTH - 20]}... ({len(text):,} characters)"
    return text


def _heading(call: CallExplained) -> str:
    profile = "no profile"
    if call.profile is not None:
        chain = " -> ".join(call.chain)
        profile = f"profile '{call.profile}' ({chain}, {call.profiles_file})"
    return f"{call.file}:{call.line}  {call.name}  {profile}"


def _from_lines(origins: Sequence[Origin], overrides: Sequence[Origin]) -> list[str]:
    lines = [str(origins[0])] if origins else ["?"]
    lines += [f"<- {o}" for o in origins[1:]]
    lines += [f"(replaces {o})" for o in overrides]
    return lines


def explain_text(calls: Sequence[CallExplained]) -> str:
    """One block per call: a heading, then argument, value and where it came from."""
    blocks = []
    for call in calls:
        rows = [("argument", "value", ["from"])]
        rows += [
            (a.name, _value_text(a.value), _from_lines(a.origins, a.overrides))
            for a in call.arguments
        ]
        name_w = max(len(r[0]) for r in rows)
        value_w = max(len(r[1]) for r in rows)
        lines = [_heading(call)]
        for name, value, origins in rows:
            lines.append(f"  {name.ljust(name_w)}  {value.ljust(value_w)}  {origins[0]}")
            pad = " " * (2 + name_w + 2 + value_w + 2)
            lines += [pad + more for more in origins[1:]]
        # The values came masked and cut; the last step of the text rule is here, a line at a
        # time (a file name or a value from outside cannot start a line or repaint the screen).
        blocks.append("\n".join(escape_controls(line) for line in lines))
    return "\n\n".join(blocks) + "\n"


def explain_json(calls: Sequence[CallExplained]) -> str:
    """A JSON list: per call its file, line, name, profile and arguments with origins."""
    return json.dumps([asdict(call) for call in calls], indent=2, ensure_ascii=False)
