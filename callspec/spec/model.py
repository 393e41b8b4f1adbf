"""The plan's data: what shapes a plan, each call ready to send, and its identities.

A call's identity must survive the things users do to checkouts: its
:attr:`CallPlan.key` hashes the spec file's path relative to its git work tree
(else to the working directory), its name and its rendered body; the journal
also keeps the absolute-path key of older journals and a path-free key of
name and body, so a resume recognizes a call however its file moved.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal, TextIO

from callspec import defaults
from callspec.errors import Problem
from callspec.spec.budget import Limits
from callspec.spec.loader import resolved
from callspec.spec.profiles import Profile, RuntimeSecret


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class PlanOptions:
    """What shapes a plan, as given on the command line or by a library caller."""

    profiles: Path | None = None
    profile: str | None = None
    vars: tuple[tuple[str, str], ...] = ()
    vars_file: Path | None = None
    only: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    #: The working directory: identities of spec files outside any git work tree are
    #: relative to it (None: the process's).
    cwd: Path | None = None
    #: A destination that two calls of the run share is an error, not a warning.
    unique_destinations: bool = False
    #: Where warnings are written as the plan is built (the CLI gives stderr); None: nowhere.
    warnings: TextIO | None = field(default=None, compare=False)
    #: What rendering one template may cost (sizes, integers, loop iterations, time per file).
    limits: Limits = field(default_factory=Limits)
    #: The instant rotations and calendars are resolved at (``--at``); None: ``clock()``,
    #: read once when the plan is built.
    at: datetime | None = None
    #: The clock (passed in so that tests can pin it).
    clock: Callable[[], datetime] = field(default=_utc_now, compare=False)
    #: A rotation with a gap (nobody on call) within 14 days of the instant is an error
    #: (validate, render, explain, --dry-run); a sending run needs only who is on call now.
    gap_check: bool = True
    #: Fetch the calendar URLs of ``each: {ical: URL}`` (a sending run, or
    #: ``--fetch-calendars``); else such a call is not expanded, with a warning: a
    #: command that promises to request nothing (validate in a pull request) keeps it.
    fetch_calendars: bool = False
    #: Seconds to fetch one calendar URL: connecting, redirects and the body.
    calendar_timeout: float = defaults.CALENDAR_TIMEOUT


Until = Literal["answered", "human", "acknowledged"]


@dataclass(frozen=True)
class Ack:
    """``ack:``: the key that acknowledges a page, and within how many seconds of the answer."""

    digit: str = "1"
    within: int = 45


@dataclass(frozen=True)
class Message:
    """``message:``: what a call says (rendered; it may hold a declared secret, masked in
    every output), how (``voice:``, Plivo ``<Speak>``'s attributes), and what
    acknowledges it (``ack:``; None: nothing is asked).  callspec's answer service
    speaks it; the call's ``answer_url`` is made for it when it is sent."""

    text: str
    voice: str = "WOMAN"
    language: str = "en-US"
    ack: Ack | None = None


@dataclass(frozen=True)
class Escalation:
    """A step of an ``escalate:`` chain: the calls one spec entry expands to (its roster's
    rows, or its destinations) are placed one at a time, in order, until one is answered."""

    #: Seconds a step may ring unanswered before it is hung up and the next is called.
    answer_within: float
    #: ``answered``: any answer stops the chain; ``human``: a machine does not;
    #: ``acknowledged``: only the ``ack`` key pressed in time does.
    until: Until
    #: The chain's name for people: ``specs/page.yaml:4`` (file and line).
    chain: str
    #: 1-based position in the chain, and the chain's length.
    step: int = 1
    steps: int = 1
    #: The chain's identity across runs (see :func:`callspec.spec.escalation.chain_key`):
    #: its file and its entry's name as written, not its line.
    key: str = ""
    #: ``repeat:``: this step's round (1: the first) and the chain's rounds (1 + times),
    #: and the seconds waited before each round after the first.
    round: int = 1
    rounds: int = 1
    after: float = 0.0


@dataclass(frozen=True)
class RowOrigin:
    """The roster row an expanded call (``each:``) came from."""

    #: The data file as shown in messages (the spec itself for an inline list).
    file: str
    #: The row's line in that file.
    line: int
    #: The row's number: 1 for the first row after the header (``row.index`` + 1).
    number: int


@dataclass(frozen=True, slots=True)
class CallPlan:
    """One call ready to send: its body is rendered, normalized and valid."""

    spec_file: str
    line: int
    index: int
    name: str
    tags: tuple[str, ...]
    profile: Profile | None
    body: Mapping[str, Any]
    #: Declared secrets of this call: (variable name, value).
    secrets: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    #: The spec file's identity: its path relative to the root of its git work tree (else
    #: to the working directory), so that moving the checkout keeps every call's key.
    spec_path: str = ""
    #: The spec file's absolute path: what journals written before 0.2 hold as its identity.
    abs_path: str = ""
    #: Its place in an ``escalate:`` chain; None for a call placed on its own.
    escalate: Escalation | None = None
    #: The roster row this call was expanded from (``each:``); None for a plain call.
    row: RowOrigin | None = None
    #: Why this call is held back and not placed (its person is in quiet hours); a run
    #: records it as skipped with these words, and an escalation moves to the next step.
    held: str | None = None
    #: Who a schedule (``each: {rotation|ical}``) had on call for this call: the instant
    #: it was resolved at, the person and the layer, as (key, value) pairs; the journal
    #: keeps them, so ``--resume`` resolves at the same instant (see callspec.oncall).
    on_call: tuple[tuple[str, str], ...] | None = None
    #: Secrets its body needs that were not set: the body holds their placeholders, and a
    #: live run is refused (validate, render, a dry run and the sandbox go on).
    pending: tuple[RuntimeSecret, ...] = ()
    #: ``message:`` (with ``voice:`` and ``ack:``): its ``answer_url`` is the answer
    #: service's, made when it is sent; None for a call that gives its own.
    message: Message | None = None
    #: ``cooldown:``: seconds within which a call Plivo shows to this destination from this
    #: caller ID (another run's) makes this one skipped; None: not asked.
    cooldown: int | None = None

    @property
    def secret_values(self) -> frozenset[str]:
        """The values to mask in every output."""
        return frozenset(value for _, value in self.secrets)

    # The keys, computed when first asked (``validate`` never asks): slots, not a
    # cached_property's instance dict, which cost a 20,000-call run 15 MB.
    _key_memo: str | None = field(default=None, init=False, repr=False, compare=False)
    _legacy_key_memo: str | None = field(default=None, init=False, repr=False, compare=False)
    _content_key_memo: str | None = field(default=None, init=False, repr=False, compare=False)
    _body_key_memo: str | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def key(self) -> str:
        """A stable identity across runs and checkouts: spec file, call name, rendered body."""
        if self._key_memo is None:
            key = _key(self.spec_path or self.spec_file, self.name, self.body)
            object.__setattr__(self, "_key_memo", key)
        return self._key_memo  # type: ignore[return-value]

    @property
    def legacy_key(self) -> str:
        """The key journals written before 0.2 hold (the file's absolute path in it)."""
        if self._legacy_key_memo is None:
            key = _key(self.abs_path or self.spec_file, self.name, self.body)
            object.__setattr__(self, "_legacy_key_memo", key)
        return self._legacy_key_memo  # type: ignore[return-value]

    @property
    def content_key(self) -> str:
        """Name and rendered body alone: the same call, wherever its file moved."""
        if self._content_key_memo is None:
            object.__setattr__(self, "_content_key_memo", _key("", self.name, self.body))
        return self._content_key_memo  # type: ignore[return-value]

    @property
    def body_key(self) -> str:
        """The rendered body alone (destination and arguments): the same call, renamed."""
        if self._body_key_memo is None:
            object.__setattr__(self, "_body_key_memo", body_key(self.body))
        return self._body_key_memo  # type: ignore[return-value]


def _key(path: str, name: str, body: Mapping[str, Any]) -> str:
    import hashlib  # with the first key: validate never asks for one

    canonical = json.dumps([path, name, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:24]


def body_key(body: Mapping[str, Any]) -> str:
    """A body's identity without a name or a path (what a journal's ``body_key`` holds)."""
    return _key("", "", body)


def identity_path(path: Path, cwd: Path) -> str:
    """``path`` relative to the root of its git work tree, else to ``cwd`` (POSIX form).

    The same checkout at another place (a second CI workspace, a container
    mount, a moved folder) gives the same identity, so ``--resume`` still knows
    which calls were placed.
    """
    full = resolved(path)
    for folder in full.parents:
        if (folder / ".git").exists():
            return full.relative_to(folder).as_posix()
    return Path(os.path.relpath(full, cwd.resolve())).as_posix()


@dataclass(frozen=True)
class Plan:
    """The calls of a run, in file and call order, and the files they came from."""

    calls: tuple[CallPlan, ...]
    files: tuple[str, ...]
    #: What is suspicious but allowed: a destination shared by two calls.
    warnings: tuple[Problem, ...] = ()

    @property
    def secret_values(self) -> frozenset[str]:
        """Every call's declared secret values: each one masks every output of the run
        (a value secret in one call is as secret where another writes it plainly)."""
        return frozenset(value for call in self.calls for value in call.secret_values)
