"""Validating a rotation against time: overlapping overrides, and gaps where nobody is on call.

:mod:`.model` checks what each value says; this module checks what they mean
together.  Two overrides that would take the same shift at the same time are an
error at the later one's line.  A gap (a layer with nobody on call) within
:data:`GAP_WINDOW` of the instant checked (``--at``, else now) is an error with
the gap's start and end; a gap further ahead is not (yet): a scheduled CI run
catches it two weeks before it opens.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from itertools import combinations

from callspec.errors import Location, Problem
from callspec.oncall.model import Override, Rotation
from callspec.oncall.resolve import FOREVER, timeline
from callspec.oncall.times import iso, local_words

GAP_WINDOW = timedelta(days=14)


def check_rotation(rotation: Rotation, at: datetime, gaps: bool = True) -> list[Problem]:
    """Every problem of ``rotation`` seen from ``at``: overlapping overrides, and (``gaps``)
    a gap within :data:`GAP_WINDOW`."""
    return overlapping_overrides(rotation) + (_gaps(rotation, at) if gaps else [])


def _path(rotation: Rotation, *keys: str | int) -> str:
    out = f"rotations.{rotation.name}"
    for key in keys:
        out += f"[{key}]" if isinstance(key, int) else f".{key}"
    return out


def _conflict(rotation: Rotation, a: Override, b: Override) -> bool:
    """Would ``a`` and ``b`` take one shift at one moment?"""
    start, end = max(a.start, b.start), min(a.end, b.end)
    if start >= end:
        return False
    if a.covers is not None and a.covers == b.covers:
        return True
    if a.layer is not None and a.layer == b.layer:
        return True
    person, layer = (a.covers, b.layer) if a.covers is not None else (b.covers, a.layer)
    if person is None or layer is None:
        return False
    # One covers a person, the other a layer: they clash where that person is on it.
    plain = replace(rotation, overrides=())
    found = rotation.layer(layer)
    return found is not None and any(
        piece.person is not None and piece.person.name == person
        for piece in timeline(plain, found, start, end)
    )


def overlapping_overrides(rotation: Rotation) -> list[Problem]:
    """Each override that would take a shift an earlier one takes, at its line."""
    problems = []
    for first, later in combinations(rotation.overrides, 2):
        if _conflict(rotation, first, later):
            target = f"covers {first.covers}" if first.covers else f"takes layer {first.layer}"
            message = (
                f"overlaps overrides[{first.index}] (line {first.location.line}: "
                f"{first.who} {target} from {local_words(first.start, rotation.time_zone)} to "
                f"{local_words(first.end, rotation.time_zone)}): two overrides cannot take "
                "the same shift at the same time"
            )
            path = _path(rotation, "overrides", later.index)
            problems.append(Problem(later.location, path, message))
    return problems


def _gaps(rotation: Rotation, at: datetime) -> list[Problem]:
    # A gap's piece keeps its true end (not the window's): it is said as it is.
    found: dict[tuple[datetime, datetime], list[str]] = {}
    for layer in rotation.layers:
        for piece in timeline(rotation, layer, at, at + GAP_WINDOW):
            if piece.person is None:
                found.setdefault((max(piece.start, at), piece.end), []).append(layer.name)
    problems = []
    tz = rotation.time_zone
    for (start, end), layers in found.items():
        after_end = rotation.end is not None and start >= at and end == FOREVER
        key = "end" if after_end else "start"
        where: Location = rotation.where.get(key, rotation.location)
        which = f"layer {layers[0]}" if len(layers) == 1 else f"layers {', '.join(layers)}"
        until = "on" if end == FOREVER else f"to {local_words(end, tz)} ({iso(end)})"
        message = (
            f"nobody is on call in {which} from {local_words(start, tz)} ({iso(start)}) {until}, "
            f"within {GAP_WINDOW.days} days of {iso(at)}: a page then would ring nobody; "
            "extend the rotation or add an override"
        )
        problems.append(Problem(where, _path(rotation, key), message))
    return problems
