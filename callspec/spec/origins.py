"""Where a value came from: the :class:`Origin` of an argument or a variable.

An origin is read off a :class:`~callspec.spec.profiles.Sourced` value: the
path it was written at tells the level (``profiles.<name>.defaults.x`` is a
profile's default, ``defaults.x`` the spec's, ``calls[3].x`` the call's,
``vars.x`` a spec variable, a one-key path the ``--vars-file``, a ``--var``
location the command line).  A new kind (a roster row, ``oncall.csv:4``) is one
more constant in :data:`KINDS` and one more branch in :func:`variable_origin`
or :func:`argument_origin`.
"""

from __future__ import annotations

from dataclasses import dataclass

from callspec.errors import Location
from callspec.spec.profiles import Sourced
from callspec.spec.variables import Pending

#: Every kind of origin, with how a person reads it.
KINDS = {
    "profile": "a profile's defaults",
    "defaults": "the spec's defaults",
    "call": "the call itself",
    "variable": "a template variable",
    "env": "the environment",
    "row": "a roster row (each:)",
    "default": "callspec's default",
    "service": "callspec's answer service",
}


@dataclass(frozen=True)
class Origin:
    """Where a value came from: ``kind`` (one of :data:`KINDS`), the file and line it was
    written at (``""`` and 0 when none, as for ``--var`` or the environment), and a few
    words of detail (``profile 'oncall'``, ``variable 'who' (call vars)``)."""

    kind: str
    file: str
    line: int
    detail: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.file and self.line > 0 else self.file
        return f"{self.detail} at {where}" if where else self.detail


def _keys(item: Sourced) -> tuple[str | int, ...] | None:
    return None if isinstance(item.at, Location) else item.at[1]


def argument_origin(item: Sourced) -> Origin:
    """Where an argument was set: a profile's defaults, the spec's defaults or the call."""
    where = item.location
    keys = _keys(item) or ()
    if keys[:1] == ("profiles",) and len(keys) >= 2:
        return Origin("profile", where.file, where.line, f"profile '{keys[1]}' defaults")
    if keys[:1] == ("defaults",):
        return Origin("defaults", where.file, where.line, "spec defaults")
    return Origin("call", where.file, where.line, "call")


def variable_origin(name: str, item: Sourced) -> Origin:
    """Where variable ``name`` was set: a profile's, the spec's or the call's ``vars``,
    ``--vars-file`` or ``--var``."""
    where = item.location
    if isinstance(item.value, Pending):  # a profile's secret from the environment
        what = f"variable '{name}' from environment variable {item.value.secret.env}"
        return Origin("variable", where.file, where.line, f"{what} (a profile secret)")
    keys = _keys(item)
    if keys is None:  # given on the command line, no file behind it
        if where.file.startswith("--var"):
            return Origin("variable", "", 0, f"variable '{name}' from --var")
        return Origin("variable", where.file, where.line, f"variable '{name}'")
    if keys[:1] == ("profiles",) and len(keys) >= 2:
        level = f"profile '{keys[1]}' vars"
    elif keys[:1] == ("vars",):
        level = "spec vars"
    elif keys[:1] == ("calls",):
        level = "call vars"
    elif len(keys) == 1:
        level = "--vars-file"
    else:
        level = "vars"
    return Origin("variable", where.file, where.line, f"variable '{name}' from {level}")


def row_origin(file: str, line: int, number: int) -> Origin:
    """The roster row an expanded call's template read (``row.phone``), at its line in
    the data file (the spec itself for an inline list)."""
    return Origin("row", file, line, f"roster row {number}")


def env_origin(name: str) -> Origin:
    """An environment variable a template read (``env.NAME``)."""
    return Origin("env", "", 0, f"environment variable {name}")


def default_origin() -> Origin:
    """A page's setting nobody wrote (``voice: WOMAN``, ``ack.within: 45``): callspec's."""
    return Origin("default", "", 0, "callspec's default")


def service_origin(service: str | None) -> Origin:
    """The ``answer_url`` of a call with ``message:``: made when the call is sent, with the
    ID of the message's registration at the answer service."""
    at = service or "run --service (or the profile's service:)"
    return Origin("service", "", 0, f"made for message: when sent, by the answer service at {at}")
