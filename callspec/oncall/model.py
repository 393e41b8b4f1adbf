"""Rotations as written: reading a ``rotations:`` section into frozen values, located.

The file's schema (``rotations`` in profiles.schema.json, which spec.schema.json
refers to) has checked the shape; this module checks what a schema cannot say:
time zones (with the nearest IANA name), dates, shift lengths, quiet hours, phone
numbers (read as Plivo dials them, by the rules every call's numbers follow:
:func:`phone_issues`), and that every name in a layer or an override is a person
of the rotation.  Each problem is a
:class:`~callspec.errors.Problem` at the line of the value; a rotation with any
problem is left out of the result, so nothing resolves from a broken one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from callspec.errors import Location, Problem
from callspec.oncall.times import Quiet, parse_local, parse_quiet, parse_shift, wall, zone
from callspec.spec.loader import Document, Path_, format_path
from callspec.spec.numbers import NumberIssue, check_numbers
from callspec.spec.validate import quote, suggest
from callspec.text import outside


@dataclass(frozen=True)
class Person:
    """Someone who takes shifts: a phone to ring, a time zone, maybe quiet hours."""

    name: str
    phone: str
    time_zone: str
    quiet: Quiet | None
    location: Location
    #: Where the phone was written (a problem of the number is said there); None: at
    #: ``location``.
    phone_location: Location | None = None


@dataclass(frozen=True)
class Layer:
    """One level of a rotation (primary, secondary): its people, in turn order."""

    name: str
    people: tuple[str, ...]
    location: Location


@dataclass(frozen=True)
class Override:
    """``who`` takes ``covers``'s shifts (or every shift of ``layer``) from ``start`` to
    ``end`` (UTC instants)."""

    index: int
    who: str
    covers: str | None
    layer: str | None
    start: datetime
    end: datetime
    location: Location


@dataclass(frozen=True)
class Rotation:
    """One rotation: hand-offs every ``shift`` from ``start`` (wall clock in ``time_zone``)."""

    name: str
    file: str
    location: Location
    time_zone: str
    start: datetime  # naive: the wall clock of the first hand-off
    shift: timedelta
    layers: tuple[Layer, ...]
    people: Mapping[str, Person] = field(hash=False)
    overrides: tuple[Override, ...] = ()
    #: Wall clock after which nobody is on call any more; None: no end.
    end: datetime | None = None
    #: Calls with one of these tags may ring a person in quiet hours.
    urgent_tags: tuple[str, ...] = ()
    #: Where each key was written, for problems found later (gaps): key -> Location.
    where: Mapping[str, Location] = field(default_factory=dict, hash=False, repr=False)

    def layer(self, name: str) -> Layer | None:
        return next((layer for layer in self.layers if layer.name == name), None)


def read_rotations(doc: Document) -> tuple[dict[str, Rotation], list[Problem]]:
    """Every rotation of ``doc``'s ``rotations:`` that has no problem, and every problem
    found (the document's shape was checked against its schema already)."""
    base: Path_ = ("rotations",)
    section = doc.data.get("rotations") if isinstance(doc.data, dict) else None
    rotations: dict[str, Rotation] = {}
    problems: list[Problem] = []
    for name, body in (section or {}).items():
        reader = _Reader(doc, (*base, name))
        rotation = reader.rotation(str(name), body)
        problems.extend(reader.problems)
        if rotation is not None and not reader.problems:
            rotations[str(name)] = rotation
    return rotations, problems


class _Reader:
    """Reads one rotation, collecting its problems."""

    def __init__(self, doc: Document, base: Path_) -> None:
        self.doc, self.base = doc, base
        self.problems: list[Problem] = []

    def add(self, keys: Path_, message: str, key: bool = False) -> None:
        path = (*self.base, *keys)
        where = self.doc.where_key(path) if key else self.doc.where(path)
        self.problems.append(Problem(where, format_path(path), message, path))

    def parsed(self, keys: Path_, parse: Any, *args: Any) -> Any:
        try:
            return parse(*args)
        except ValueError as e:
            self.add(keys, str(e))
            return None

    def rotation(self, name: str, body: Mapping[str, Any]) -> Rotation | None:
        tz_name = str(body["time_zone"])
        tz = self.parsed(("time_zone",), zone, tz_name)
        start = self.parsed(("start",), parse_local, str(body["start"]))
        end = self.parsed(("end",), parse_local, str(body["end"])) if "end" in body else None
        shift = self.parsed(("shift",), parse_shift, str(body["shift"]))
        if start is not None and end is not None and end <= start:
            self.add(("end",), f"'{body['end']}' is not after the start, '{body['start']}'")
        people = {
            str(who): person
            for who, data in body["people"].items()
            if (person := self.person(str(who), data, tz_name if tz else "UTC")) is not None
        }
        names = list(body["people"])
        layers = tuple(
            self.layer(str(n), list(members), names) for n, members in body["layers"].items()
        )
        layer_names = [layer.name for layer in layers]
        overrides = tuple(
            o
            for i, item in enumerate(body.get("overrides", ()))
            if (o := self.override(i, item, names, layer_names, tz)) is not None
        )
        if tz is None or start is None or shift is None or self.problems:
            return None
        where = {key: self.doc.where((*self.base, key)) for key in body}
        return Rotation(
            name=name,
            file=self.doc.file,
            location=self.doc.where_key(self.base),
            time_zone=tz_name,
            start=start,
            shift=shift,
            layers=layers,
            people=people,
            overrides=overrides,
            end=end,
            urgent_tags=tuple(body.get("urgent_tags", ())),
            where=where,
        )

    def person(self, name: str, data: Mapping[str, Any], default_tz: str) -> Person | None:
        keys: Path_ = ("people", name)
        phone = str(data["phone"])
        for issue in phone_issues(phone):  # a profile's countries: where a spec uses it
            if not issue.warning:
                self.add((*keys, "phone"), issue.message)
        tz_name = str(data.get("time_zone", default_tz))
        if "time_zone" in data and self.parsed((*keys, "time_zone"), zone, tz_name) is None:
            return None
        quiet = None
        if "quiet" in data:
            quiet = self.parsed((*keys, "quiet"), parse_quiet, str(data["quiet"]), tz_name)
            if quiet is None:
                return None
        where = self.doc.where_key((*self.base, *keys))
        return Person(
            name, phone.strip(), tz_name, quiet, where, self.doc.where((*self.base, *keys, "phone"))
        )

    def layer(self, name: str, members: list[Any], names: list[str]) -> Layer:
        for i, member in enumerate(members):
            self.known((("layers", name, i)), str(member), names)
        return Layer(
            name, tuple(str(m) for m in members), self.doc.where_key((*self.base, "layers", name))
        )

    def known(self, keys: Path_, who: str, names: list[str], what: str = "person") -> bool:
        if who in names:
            return True
        listed = ", ".join(names)
        self.add(
            keys, f"{quote(who)} is not a {what} of this rotation{suggest(who, names)} ({listed})"
        )
        return False

    def override(
        self, index: int, item: Mapping[str, Any], names: list[str], layers: list[str], tz: Any
    ) -> Override | None:
        keys: Path_ = ("overrides", index)
        who, covers, layer = str(item["who"]), item.get("covers"), item.get("layer")
        ok = self.known((*keys, "who"), who, names)
        if (covers is None) == (layer is None):
            self.add(
                keys, "an override names either 'covers' (a person) or 'layer', not both or neither"
            )
            ok = False
        elif covers is not None:
            ok = self.known((*keys, "covers"), str(covers), names) and ok
            if str(covers) == who:
                self.add((*keys, "covers"), f"{quote(who)} cannot cover themself")
                ok = False
        elif layer is not None:
            ok = self.known((*keys, "layer"), str(layer), layers, "layer") and ok
        start = self.parsed((*keys, "from"), parse_local, str(item["from"]))
        end = self.parsed((*keys, "to"), parse_local, str(item["to"]))
        if start is not None and end is not None and end <= start:
            self.add((*keys, "to"), f"'{item['to']}' is not after 'from', '{item['from']}'")
            ok = False
        if not ok or start is None or end is None or tz is None:
            return None
        return Override(
            index=index,
            who=who,
            covers=str(covers) if covers is not None else None,
            layer=str(layer) if layer is not None else None,
            start=wall(start, tz),
            end=wall(end, tz),
            location=self.doc.where((*self.base, *keys)),
        )


def is_destination(text: str) -> bool:
    """One destination by the call schema's own rule for ``to`` (no ``<`` list)."""
    from callspec.schemas import load_schema

    pattern = load_schema("call")["properties"]["to"]["pattern"]
    return "<" not in text and re.search(pattern, text.strip()) is not None


def phone_issues(
    phone: str, countries: tuple[str, ...] = (), mask: Callable[[str], str] = str
) -> list[NumberIssue]:
    """What is wrong with a person's ``phone``: not one destination as the call schema
    writes ``to``, or a number as Plivo dials it that no country has or that the allowed
    ``countries`` refuse (:func:`callspec.spec.numbers.check_numbers`, the rules of every
    call's numbers: errors, and warnings such as a number written without its ``+``)."""
    if not is_destination(phone):
        message = (
            f"'{outside(phone, mask, 60)}' is not a phone number (country code and number, "
            "e.g. +14155550101) or a SIP URI (sip:user@host)"
        )
        return [NumberIssue("to", message)]
    return check_numbers({"to": phone.strip()}, countries, mask, frozenset())
