"""``callspec oncall`` as a library call: find a rotation, list its shifts, write them.

Finding: the rotations of the spec files among PATHS (folders: every spec in
them) and of their profiles files, or with no PATHS the profiles file found
from the working directory (``--profiles``, ``$CALLSPEC_PROFILES``, the nearest
``profiles.yaml``); a profiles file may also be given as a PATH.  Every file is
shape-checked and every rotation read as ``validate`` reads it, so a broken
file says why (exit 3); gaps are shown, not refused: ``validate`` refuses them.

Writing: who is on call at the instant (one line per layer), or every shift of
``days`` days from it; as a table, a JSON list of ``{layer, name, phone, start,
end}`` (``covers`` and ``quiet`` added), or an iCalendar document.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal, TextIO

from callspec.errors import Problem, SpecError, UsageError
from callspec.oncall.checks import overlapping_overrides
from callspec.oncall.model import Rotation, read_rotations
from callspec.oncall.resolve import FOREVER, Shift, on_call, timeline
from callspec.oncall.times import iso, local_words, shift_words
from callspec.spec.documents import check_document
from callspec.spec.files import collect_spec_files, display_path
from callspec.spec.loader import load_file, resolved
from callspec.spec.profiles import find_profiles_file, is_profiles_filename
from callspec.spec.validate import suggest
from callspec.text import outside

Format = Literal["table", "json", "ics"]
MAX_DAYS = 366


@dataclass(frozen=True)
class OncallRequest:
    """What ``callspec oncall`` was asked."""

    name: str
    paths: tuple[Path, ...] = ()
    profiles: Path | None = None
    #: The instant (``--at``, else now: the CLI reads the clock).
    at: datetime | None = None
    #: Every shift of this many days from ``at``; None: who is on call at ``at``.
    days: int | None = None


@dataclass(frozen=True)
class OncallResult:
    """A rotation's shifts for the request: the pieces meeting the window, gaps included."""

    rotation: Rotation
    at: datetime
    end: datetime | None
    shifts: tuple[Shift, ...]


def find_rotation(
    name: str, paths: Sequence[Path], profiles: Path | None, environ: Mapping[str, str]
) -> Rotation:
    """The rotation ``name`` from ``paths`` (see the module's docstring)."""
    files: dict[Path, tuple[Path, Literal["spec", "profiles"]]] = {}
    specs = [p for p in paths if not (p.is_file() and is_profiles_filename(p))]
    for path in paths:
        if path.is_file() and is_profiles_filename(path):
            files.setdefault(resolved(path), (path, "profiles"))
    folders = [Path.cwd()]
    if specs:
        for spec in collect_spec_files(specs):
            files.setdefault(resolved(spec), (spec, "spec"))
        folders = [spec.parent for spec, kind in files.values() if kind == "spec"]
    for folder in folders:
        found = find_profiles_file(profiles, folder, environ)
        if found is not None:
            files.setdefault(resolved(found), (found, "profiles"))
    if not files:
        raise UsageError(
            "no profiles file found and no spec given: name the file with the rotation"
        )
    rotations: dict[str, Rotation] = {}
    problems: list[Problem] = []
    for path, kind in files.values():
        try:
            doc = load_file(path, display_path(path))
        except SpecError as e:
            problems.extend(e.problems)
            continue
        shape = check_document(doc, kind)
        if shape:
            problems.extend(shape)
            continue
        found_rotations, wrong = read_rotations(doc)
        for rotation in found_rotations.values():
            wrong += overlapping_overrides(rotation)
        problems.extend(wrong)
        for key, rotation in found_rotations.items():
            rotations.setdefault(key, rotation)
    if problems:
        raise SpecError(problems)
    if name not in rotations:
        known = sorted(rotations)
        listed = ", ".join(known) if known else "none"
        raise UsageError(
            f"no rotation '{name}' in {', '.join(display_path(p) for p, _ in files.values())}"
            f"{suggest(name, known)} (rotations: {listed})"
        )
    return rotations[name]


def oncall(
    request: OncallRequest, environ: Mapping[str, str], clock: Callable[[], datetime]
) -> OncallResult:
    """Find the rotation and list its shifts for the request."""
    rotation = find_rotation(request.name, request.paths, request.profiles, environ)
    at = request.at or clock()
    if request.days is None:
        return OncallResult(rotation, at, None, tuple(on_call(rotation, at)))
    if not 1 <= request.days <= MAX_DAYS:
        raise UsageError(f"--days must be from 1 to {MAX_DAYS}")
    end = at + timedelta(days=request.days)
    pieces = [p for layer in rotation.layers for p in timeline(rotation, layer, at, end)]
    order = {layer.name: i for i, layer in enumerate(rotation.layers)}
    pieces.sort(key=lambda s: (s.start, order[s.layer]))
    return OncallResult(rotation, at, end, tuple(pieces))


def _entry(shift: Shift) -> dict[str, object]:
    person = shift.person
    return {
        "layer": shift.layer,
        "name": person.name if person else None,
        "phone": person.phone if person else None,
        "start": iso(shift.start),
        "end": None if shift.end == FOREVER else iso(shift.end),
        "covers": shift.covers,
        "quiet": str(person.quiet) if person and person.quiet else None,
    }


def write(result: OncallResult, fmt: Format, out: TextIO, mask: Callable[[str], str]) -> None:
    """Write ``result`` as a table, JSON or iCalendar on ``out``; text passes ``mask``."""
    if fmt == "json":
        out.write(mask(json.dumps([_entry(s) for s in result.shifts], indent=2)) + "\n")
    elif fmt == "ics":
        from callspec.oncall.ical import export

        out.write(mask(export(result.rotation, result.shifts, result.at)))
    else:
        out.write(_table(result, mask))


def _table(result: OncallResult, mask: Callable[[str], str]) -> str:
    rotation, tz = result.rotation, result.rotation.time_zone
    head = f"rotation {rotation.name} ({tz}, {shift_words(rotation.shift)} hand-offs)"
    if result.end is None:
        head += f": on call at {local_words(result.at, tz)} ({iso(result.at)})"
    else:
        head += f": shifts from {local_words(result.at, tz)} to {local_words(result.end, tz)}"
    rows: list[tuple[str, ...]] = [("layer", "name", "phone", "from", "until", "note")]
    for shift in result.shifts:
        person = shift.person
        notes = []
        if shift.covers:
            notes.append(f"covers {shift.covers}")
        if person is None:
            notes.append("GAP: nobody is on call")
        elif person.quiet is not None:
            quiet = (
                "in quiet hours"
                if result.end is None and person.quiet.active(result.at)
                else "quiet"
            )
            notes.append(f"{quiet} {person.quiet}")
        until = "-" if shift.end == FOREVER else local_words(shift.end, tz)
        cells = (
            shift.layer,
            person.name if person else "-",
            person.phone if person else "-",
            local_words(shift.start, tz),
            until,
            "; ".join(notes),
        )
        rows.append(tuple(outside(c, mask, 80) for c in cells))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [head]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines) + "\n"
