"""The instant a journal's rotations were resolved at, and the chains they resolved to,
for ``run --resume``.

A run that paged people from a rotation or a calendar writes, on each such
call's journal lines, ``on_call: {at, name, layer, entry, people}``: ``entry``
names the spec entry (as an escalation chain's key does) and ``people`` is a
digest of every row the schedule resolved for it (layer, name, phone of each),
placed or not yet.  A resumed run resolves its schedules at that same instant,
so after a hand-off it finishes the chain it started (the same people, the same
calls, recognized by their keys) instead of starting one for the next shift's
people; when the schedule was edited since, so that the same instant now
resolves to other people, the resume is refused (:func:`changed_chains`):
paging them would ring a chain nobody started.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from callspec.oncall.times import parse_instant

if TYPE_CHECKING:
    from callspec.spec.model import CallPlan


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


def _journaled_chains(journal: Path) -> dict[str, str]:
    """Each entry's ``people`` digest, as the journal's first line of it holds it."""
    chains: dict[str, str] = {}
    try:
        with journal.open(encoding="utf-8") as f:
            for line in f:
                if '"people"' not in line:
                    continue
                try:
                    on_call = json.loads(line)["on_call"]
                    chains.setdefault(str(on_call["entry"]), str(on_call["people"]))
                except (ValueError, KeyError, TypeError):
                    continue
    except (OSError, UnicodeDecodeError):
        return {}
    return chains


def changed_chains(journal: Path, calls: Sequence[CallPlan]) -> list[str]:
    """Why ``calls`` may not resume ``journal``: one sentence per spec entry whose schedule
    resolves, at the journal's instant, to other people than the journal's run paged from
    (the rotation or calendar was edited since).  Empty: every chain is the one started."""
    journaled = _journaled_chains(journal)
    now: dict[str, list[CallPlan]] = {}
    for call in calls:
        on_call = dict(call.on_call or ())
        entry = on_call.get("entry")
        people = str(on_call.get("people", ""))
        # (the digest first; the marks after it, absent in journals written before them)
        if entry in journaled and journaled[entry].split(" ")[0] != people.split(" ")[0]:
            now.setdefault(entry, []).append(call)
    out = []
    for entry, entry_calls in now.items():
        first = entry_calls[0]
        at = dict(first.on_call or ()).get("at", "")
        people = ", ".join(
            f"{dict(c.on_call or ()).get('layer', '')} {dict(c.on_call or ()).get('name', '')}"
            for c in entry_calls
        )
        changed = _what_changed(entry, journaled[entry], entry_calls)
        out.append(
            f"{first.spec_file}:{first.line}: who is on call at {at} is not who the journal's "
            f"run paged from: the schedule was edited since, and now has {people}{changed}; "
            "--resume only finishes the chain that was started, so it pages nobody else: "
            "restore the rotation (or calendar) as it was to resume, or page the new people "
            "with a run without --resume"
        )
    return out


def _marks(people: str) -> dict[str, str]:
    """The ``who:number`` marks after a chain's digest (see
    :func:`callspec.spec.rotations.row_marks`): who -> number."""
    _, _, marks = people.partition(" ")
    return dict(m.split(":", 1) for m in marks.split(",") if ":" in m)


def _what_changed(entry: str, journaled: str, calls: Sequence[CallPlan]) -> str:
    """`` (ben's number changed)``: whose number (or who) differs from the journal's chain,
    by the marks both keep; empty when the journal has none (written before them)."""
    from callspec.spec.rotations import who_mark

    before = _marks(journaled)
    if not before:
        return ""
    said = []
    for call in calls:
        on_call = dict(call.on_call or ())
        layer, name = str(on_call.get("layer", "")), str(on_call.get("name", ""))
        who = who_mark(entry, layer, name)
        now = _marks(str(on_call.get("people", ""))).get(who)
        if who not in before:
            said.append(f"{layer} {name} is new")
        elif now is not None and before[who] != now:
            said.append(f"{name}'s number changed")
    gone = len(set(before) - set(_marks(str(dict(calls[0].on_call or ()).get("people", "")))))
    if gone:
        said.append(f"{gone} of the journal's people not on call now")
    return f" ({', '.join(said)})" if said else ""
