"""The instant a journal's rotations were resolved at, for ``run --resume``.

A run that paged people from a rotation or a calendar writes, on each such
call's journal lines, ``on_call: {at, name, layer}``.  A resumed run resolves
its schedules at that same instant, so after a hand-off it finishes the chain it
started (the same people, the same calls, recognized by their keys) instead of
starting one for the next shift's people.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from callspec.oncall.times import parse_instant


def journaled_instant(journal: Path) -> datetime | None:
    """The ``on_call.at`` of the first call in ``journal`` that came from a schedule, or
    None (no such call, or a journal that cannot be read: the resume reports that)."""
    try:
        with journal.open(encoding="utf-8") as f:
            for line in f:
                if '"on_call"' not in line:
                    continue  # most lines: no JSON parsing
                try:
                    event = json.loads(line)
                    return parse_instant(str(event["on_call"]["at"]))
                except (ValueError, KeyError, TypeError):
                    continue
    except (OSError, UnicodeDecodeError):
        return None
    return None
