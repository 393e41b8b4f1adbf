"""Who is on call: a rotation's shifts over a window, and at one instant.

Hand-off ``k`` is the wall-clock time ``start + k * shift`` in the rotation's
time zone (:func:`~callspec.oncall.times.wall`), so a weekly hand-off at 09:00
stays at 09:00 across daylight-saving changes (that week is an hour shorter or
longer).  Each layer's turn ``k`` goes to its ``k``-th person, round robin.
Overrides then replace pieces of shifts: ``covers: ben`` wherever Ben is on
call, ``layer: primary`` whoever is (and a gap too).  Nobody is on call before
the start or after the end: those pieces are gaps (``person`` None).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from callspec.oncall.model import Layer, Override, Person, Rotation
from callspec.oncall.times import UTC, wall, zone

#: The end of a gap that never ends (after a rotation's ``end``).
FOREVER = datetime(9999, 1, 1, tzinfo=UTC)
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class Shift:
    """A piece of time in which ``person`` is on call in ``layer`` (None: nobody)."""

    layer: str
    person: Person | None
    start: datetime
    end: datetime
    #: The override that put ``person`` here, and whom they stand in for (None: nobody).
    override: Override | None = None
    covers: str | None = None


def handoff(rotation: Rotation, k: int) -> datetime:
    """The instant of hand-off ``k`` (0: the start)."""
    return wall(rotation.start + k * rotation.shift, zone(rotation.time_zone))


def _turn(rotation: Rotation, moment: datetime) -> int:
    """The turn that holds ``moment`` (at or after the start): hand-off k <= moment < k+1."""
    k = max(0, int((moment - handoff(rotation, 0)) / rotation.shift))
    while k > 0 and handoff(rotation, k) > moment:
        k -= 1
    while handoff(rotation, k + 1) <= moment:
        k += 1
    return k


def _base(rotation: Rotation, layer: Layer, a: datetime, b: datetime) -> list[Shift]:
    """The layer's turns that meet ``[a, b)``, before overrides; gaps where nobody is."""
    first = handoff(rotation, 0)
    stop = wall(rotation.end, zone(rotation.time_zone)) if rotation.end else None
    out: list[Shift] = []
    if a < first:
        out.append(Shift(layer.name, None, a, first))
    k = _turn(rotation, max(a, first))
    while True:
        start, end = handoff(rotation, k), handoff(rotation, k + 1)
        if start >= b or (stop is not None and start >= stop):
            break
        if stop is not None:
            end = min(end, stop)
        if end > start:  # a turn a daylight-saving change swallowed whole is no turn
            who = layer.people[k % len(layer.people)]
            out.append(Shift(layer.name, rotation.people[who], start, end))
        k += 1
    if stop is not None and stop < b:
        out.append(Shift(layer.name, None, max(stop, first), FOREVER))
    return out


def _applies(override: Override, piece: Shift) -> bool:
    if override.layer is not None:
        return override.layer == piece.layer
    return piece.person is not None and piece.person.name == override.covers


def _overridden(rotation: Rotation, pieces: list[Shift]) -> list[Shift]:
    # Covering a person first, then a whole layer (overlaps of the two are refused by
    # checks.py, so the order only matters for rotations it has not checked).
    ordered = sorted(rotation.overrides, key=lambda o: (o.layer is not None, o.start))
    for override in ordered:
        out: list[Shift] = []
        for piece in pieces:
            if not _applies(override, piece) or override.end <= piece.start:
                out.append(piece)
                continue
            if override.start >= piece.end:
                out.append(piece)
                continue
            if piece.start < override.start:
                out.append(replace(piece, end=override.start))
            covered = piece.person.name if piece.person else None
            person = rotation.people[override.who]
            start, end = max(piece.start, override.start), min(piece.end, override.end)
            out.append(Shift(piece.layer, person, start, end, override, covered))
            if override.end < piece.end:
                out.append(replace(piece, start=override.end))
        pieces = out
    return pieces


def timeline(rotation: Rotation, layer: Layer, a: datetime, b: datetime) -> list[Shift]:
    """Every piece of ``layer`` that meets ``[a, b)``, overrides applied, in time order
    (pieces keep their own start and end: a shift that began before ``a`` shows when)."""
    pieces = _overridden(rotation, _base(rotation, layer, a, b))
    return [p for p in pieces if p.end > a and p.start < b and p.end > p.start]


def _layers(rotation: Rotation, names: Sequence[str] | None) -> list[Layer]:
    if names is None:
        return list(rotation.layers)
    return [layer for name in names if (layer := rotation.layer(name)) is not None]


def shifts(
    rotation: Rotation, a: datetime, b: datetime, layers: Sequence[str] | None = None
) -> list[Shift]:
    """Every shift of the given layers (all: None) meeting ``[a, b)``, by start, then layer
    order; gaps are left out (see :func:`gaps`)."""
    chosen = _layers(rotation, layers)
    order = {layer.name: i for i, layer in enumerate(chosen)}
    found = [
        piece
        for layer in chosen
        for piece in timeline(rotation, layer, a, b)
        if piece.person is not None
    ]
    return sorted(found, key=lambda s: (s.start, order[s.layer]))


def on_call(
    rotation: Rotation, moment: datetime, layers: Sequence[str] | None = None
) -> list[Shift]:
    """One piece per layer (in the order asked) holding ``moment``; a gap's piece has no
    person."""
    out = []
    for layer in _layers(rotation, layers):
        found = timeline(rotation, layer, moment, moment + _TICK)
        out.append(next(p for p in found if p.start <= moment < p.end))
    return out


def gaps(rotation: Rotation, a: datetime, b: datetime) -> list[Shift]:
    """Where nobody is on call in a layer within ``[a, b)``, cut to that window."""
    out = []
    for layer in rotation.layers:
        for piece in timeline(rotation, layer, a, b):
            if piece.person is None:
                out.append(replace(piece, start=max(piece.start, a), end=min(piece.end, b)))
    return out
