"""What a journal says: one entry per call (its last state), and where it was sent.

:func:`read_journal` replays a journal's lines into the last state of every
call, by key.  The rule that keeps a phone from ringing twice across resumes:
a later line may replace a state only while the call is open (started, or
surely never placed: failed, skipped, invalid); once fired, queued or
unknown, lines of runs that did not send it again change nothing.  A last
line a crash cut short is ignored (a cut started line was never synced, so its
call was never sent; a cut finished line leaves the call started: unknown).
An ``answered`` line (an escalation step followed to its end) adds its
answers, its chain and whether it ended that chain; answers that are not
a list of objects are a located error.  A step's chain is the chain's key
(every line of a step names it), or in journals written before keys, its
``file:line`` (:func:`chain_id`), on ``answered`` lines only.
"""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from callspec.errors import Location, Problem, SpecError
from callspec.results import Answer
from callspec.spec.model import body_key


@dataclass(frozen=True)
class JournalEntry:
    """The last state of one call in a journal."""

    key: str
    name: str
    spec_file: str
    state: str  # "started", or an outcome
    run_id: str
    request_uuid: str | list[str] | None = None
    #: The spec file's path relative to its work tree (absolute in older journals).
    spec_path: str = ""
    #: Where the call was sent: mode, auth ID and (live) API URL; None in older journals.
    target: Target | None = None
    #: The spec file's absolute path, and the key made with it (what journals before 0.2
    #: hold as ``spec_path`` and ``key``): a resume from the same place matches by these.
    abs_path: str = ""
    abs_key: str = ""
    #: Name and body alone (no path): the same call even when its file's identity changed.
    content_key: str = ""
    #: What became of the call once placed, when a run followed it (an escalation step).
    answers: tuple[Answer, ...] | None = None
    #: The rendered body alone (no name, no path): the same call renamed since.
    body_key: str = ""
    #: The destination the call rang (``to``), as journaled; "" when unknown.
    to: str = ""
    #: When the run that placed it started its send (ISO 8601); "" when unknown.
    placed: str = ""
    #: The escalation chain it is a step of (its key; :func:`chain_id` in older journals),
    #: and whether its answer ended that chain; "" and False for a plain call.
    chain: str = ""
    reached: bool = False
    #: A call with ``message:``: its registration at the answer service ("" for others).
    registration: str = ""


def chain_id(spec_path: str, line: int) -> str:
    """A chain's identity in journals written before chain keys: its entry's
    work-tree-relative file and line (read back, never written)."""
    return f"{spec_path}:{line}"


@dataclass(frozen=True)
class Target:
    """What a journal's calls were sent to; a resume elsewhere must not trust it.

    ``api_url`` is None for the sandbox (``run --sandbox`` listens on a new port
    each time) and for journals written before targets were recorded.
    """

    mode: str
    auth_id: str
    api_url: str | None = None

    def as_json(self) -> dict[str, str]:
        data = {"mode": self.mode, "auth_id": self.auth_id}
        if self.api_url is not None:
            data["api_url"] = self.api_url
        return data

    @classmethod
    def from_json(cls, data: Any) -> Target | None:
        if not isinstance(data, dict):
            return None
        return cls(str(data["mode"]), str(data["auth_id"]), data.get("api_url"))

    def __str__(self) -> str:
        where = f" at {self.api_url}" if self.api_url else ""
        return f"{self.mode}{where}, auth ID {self.auth_id}"


def normal_url(url: str) -> str:
    """An API URL as a target: scheme and host in lower case, no default port, no end slash."""
    parts = urllib.parse.urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    if port is not None and (scheme, port) not in (("http", 80), ("https", 443)):
        host += f":{port}"
    return urllib.parse.urlunsplit((scheme, host, parts.path.rstrip("/"), "", ""))


# States a later outcome may replace: an attempt under way, or one that surely placed no call.
_OPEN = frozenset({"started", "failed", "skipped", "invalid"})


def answers_of(items: Any) -> tuple[Answer, ...]:
    """An ``answered`` line's answers back as :class:`Answer` values (unknown fields ignored)."""
    known = {f.name for f in fields(Answer)}
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise TypeError("'answers' is not a list of objects")
    return tuple(Answer(**{k: v for k, v in item.items() if k in known}) for item in items)


def _body_identity(event: dict[str, Any], previous: JournalEntry | None) -> tuple[str, str]:
    """The body key and destination of a journal line, else of the call's earlier lines.

    Journals before ``body_key`` was written keep the body in their started lines:
    its key is made from it (a masked secret in it just leaves the key unmatched).
    """
    body = event.get("body")
    key = event.get("body_key") or ""
    if not key and isinstance(body, dict):
        key = body_key(body)
    to = str(body.get("to", "")) if isinstance(body, dict) else ""
    if previous is not None:
        key, to = key or previous.body_key, to or previous.to
    return str(key), to


def read_journal(path: Path) -> dict[str, JournalEntry]:
    """The last state of every call in a journal, by key; a broken line is a SpecError."""
    entries: dict[str, JournalEntry] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError([Problem(Location(str(path)), "", f"cannot read journal: {e}")]) from e
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
            key = event["key"]
            previous = entries.get(key)
            if event["event"] == "answered":
                answers = answers_of(event["answers"])
                if previous is not None:
                    chain = event.get("chain")
                    entries[key] = replace(
                        previous,
                        answers=answers,
                        chain=chain if isinstance(chain, str) and chain else previous.chain,
                        reached=event.get("reached") is True,
                    )
                continue
            if event["event"] == "started":
                state = "started"
            elif previous is None or previous.state in _OPEN:
                state = event.get("state") or event["outcome"]
            else:
                # A call a run did not send (a resumed run skipping it, or reporting it
                # unknown again) keeps the state its last attempt left: once fired,
                # always fired, however often the journal is resumed.
                continue
            run_id = event.get("placed_in") or event["run_id"]
            if previous is not None and previous.state == "started" and state != "started":
                run_id = previous.run_id  # the run that sent it
            uuid = event.get("request_uuid") or (previous.request_uuid if previous else None)
            body_id, to = _body_identity(event, previous)
            target = Target.from_json(event.get("target"))
            placed = previous.placed if previous is not None else ""
            chain = event.get("chain")
            if not isinstance(chain, str) or not chain:
                chain = previous.chain if previous is not None else ""
            if previous is not None and previous.state == "started" and previous.target:
                target = previous.target  # where it was sent
            registration = event.get("registration")
            if not isinstance(registration, str) or not registration:
                registration = previous.registration if previous is not None else ""
            entries[key] = JournalEntry(
                key,
                event["name"],
                event["spec_file"],
                state,
                run_id,
                uuid,
                event.get("spec_path", previous.spec_path if previous else ""),
                target,
                event.get("abs_path", ""),
                event.get("abs_key", ""),
                event.get("content_key", ""),
                None,
                body_id,
                to,
                str(event.get("time", "")) if state == "started" else placed,
                chain,
                registration=registration,
            )
        except (ValueError, KeyError, TypeError) as e:
            if number == len(lines):
                # A crash can cut the last line short.  Safe to ignore: a cut "started"
                # line was never fsync'ed, so its call was never sent; a cut "finished"
                # line leaves that call "started", which resumes as unknown.
                break
            where = Location(str(path), number, 1)
            raise SpecError([Problem(where, "", f"not a callspec journal line ({e})")]) from e
    return entries
