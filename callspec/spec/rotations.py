"""The rotations a plan reads: each file's ``rotations:`` read and checked once, and the
schedules (who is on call) a spec's ``each: {rotation|ical}`` calls see.

Moved out of plan.py as it was written for ``callspec oncall`` (issue 21):
:mod:`callspec.oncall` loads only for a file that has rotations or a call with an
``each:`` mapping.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from callspec.errors import Problem
from callspec.spec.loader import Document
from callspec.spec.problems import Found

if TYPE_CHECKING:
    from callspec.spec.rosters import Row  # rosters load only for a call with each:


def who_mark(entry: str, layer: str, name: str, phone: str | None = None) -> str:
    """A short digest, salted with the entry, of who a row is (``layer``, ``name``), or,
    with ``phone``, of their number: the marks :func:`row_marks` keeps."""
    import hashlib

    parts = [entry, layer, name] if phone is None else [entry, layer, name, phone]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[: 8 if phone is None else 4]


def row_marks(entry: str, people: list[list[str]]) -> str:
    """Each resolved row as ``who:number`` marks, after the chain's digest in the journal:
    a refused resume can then say whose number changed (``ben's number changed``) without
    the journal keeping a number.  Four hex digits of a number's digest name no number
    (thousands of numbers share each)."""
    return ",".join(
        f"{who_mark(entry, layer, name)}:{who_mark(entry, layer, name, phone)}"
        for layer, name, phone in people
    )


class Rotations:
    """The rotations of a run's files (``rotations:`` in a spec or a profiles file): each
    file's read and checked once; :mod:`callspec.oncall` loads only for a file that has
    them or a call with an ``each:`` mapping."""

    def __init__(
        self,
        at: datetime,
        gap_check: bool,
        mask: Callable[[str], str] = str,
        notes: Found | None = None,
    ) -> None:
        self.at, self.gap_check = at, gap_check
        self.mask, self.notes = mask, notes  # for problems and warnings of people's numbers
        self.files: dict[str, tuple[dict[str, Any], frozenset[str]]] = {}
        self.calendars: dict[str, Any] = {}  # a calendar is read once per run
        self.numbers: dict[Any, list[Problem]] = {}  # people's numbers, once per countries
        self.clashes: set[str] = set()
        #: The rows the schedule resolved for the entry being expanded: its whole chain.
        self.chain: tuple[tuple[str, str], ...] = ()

    def read(self, doc: Document) -> list[Problem]:
        """Read and check ``doc``'s rotations; their problems."""
        if not isinstance(doc.data, dict) or "rotations" not in doc.data:
            return []
        if doc.file in self.files:
            return []
        from callspec.oncall.checks import check_rotation
        from callspec.oncall.model import read_rotations

        rotations, problems = read_rotations(doc)
        for name, rotation in list(rotations.items()):
            found = check_rotation(rotation, self.at, gaps=self.gap_check)
            if found:
                problems.extend(found)
                del rotations[name]
        broken = frozenset(str(n) for n in doc.data["rotations"]) - set(rotations)
        self.files[doc.file] = (rotations, broken)
        return problems

    def resolved(self, rows: list[Row], spec_path: str, written: str) -> None:
        """Note the rows a schedule resolved for an entry (``written``: its name as written,
        in the spec file ``spec_path``): its chain, which each of its calls' journal lines
        keeps as a digest (see :func:`callspec.oncall.resume.changed_chains`)."""
        import hashlib

        from callspec.spec.escalation import chain_key

        people = [[str(r.values.get(k, "")) for k in ("layer", "name", "phone")] for r in rows]
        digest = hashlib.sha256(json.dumps([spec_path, written, people]).encode()).hexdigest()
        entry = chain_key(spec_path, written)
        self.chain = (("entry", entry), ("people", f"{digest[:24]} {row_marks(entry, people)}"))

    def on_call(self, row: Row | None) -> tuple[tuple[str, str], ...] | None:
        """What the journal keeps of a schedule's row: the instant, the person, the layer,
        and the entry's whole chain as resolved then (a digest: names and numbers may be
        secret, and the journal keeps this unmasked)."""
        if row is None:
            return None
        at = self.at.astimezone(timezone.utc).isoformat(timespec="seconds")
        name, layer = str(row.values.get("name", "")), str(row.values.get("layer", ""))
        return (("at", at.replace("+00:00", "Z")), ("name", name), ("layer", layer), *self.chain)

    def seen_by(
        self, doc: Document, profiles: Document | None, countries: tuple[str, ...] = ()
    ) -> tuple[Any, list[Problem]]:
        """The :class:`~callspec.oncall.rows.Schedules` a spec sees: its own rotations and its
        profiles file's, with the ``countries`` its profile allows; a name defined in both
        is a problem (once)."""
        from callspec.oncall.rows import Schedules

        own, own_broken = self.files.get(doc.file, ({}, frozenset()))
        shared, shared_broken = (
            self.files.get(profiles.file, ({}, frozenset())) if profiles else ({}, frozenset())
        )
        problems = []
        both = sorted((set(own) | own_broken) & (set(shared) | shared_broken))
        if both and profiles is not None and doc.file not in self.clashes:
            self.clashes.add(doc.file)
            for name in both:
                where = profiles.where_key(("rotations", name))
                message = (
                    f"rotation '{name}' is defined here and in {where}: give one of them "
                    "another name"
                )
                path = f"rotations.{name}"
                problems.append(Problem(doc.where_key(("rotations", name)), path, message))
        schedules = Schedules(
            self.at,
            {**shared, **own},
            own_broken | shared_broken | frozenset(both),
            calendars=self.calendars,
            countries=countries,
            mask=self.mask,
            numbers=self.numbers,
            notes=self.notes,
        )
        return schedules, problems
