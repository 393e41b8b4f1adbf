"""Every request_uuid a run has seen: an API answer that repeats one is not believed.

Answers from the API are untrusted input.  Plivo gives each placed call a new
``request_uuid``; an answer naming one that an earlier call of this run (or of
the journal it resumes) already had would make callspec follow, and settle,
another call than the one it placed, and page the next person while this one
rings.  Such a call is unknown instead (it may have been placed), which stops
its escalation chain and fails the run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

from callspec.text import outside


class UuidLedger:
    """The request_uuids seen so far, each with the call that had it; thread-safe."""

    def __init__(self, redact: Callable[[str], str], known: Iterable[tuple[str, str]] = ()) -> None:
        self.redact = redact
        #: request_uuid (lower case) -> the name of the call that had it.
        self._seen: dict[str, str] = {uuid.lower(): name for uuid, name in known}
        self._lock = threading.Lock()

    def claim(self, request_uuid: str | list[str], name: str) -> str | None:
        """Note the call ``name``'s request_uuid(s); why they cannot be believed (one was seen
        before, or a bulk answer repeats one), else None."""
        given = request_uuid if isinstance(request_uuid, list) else [request_uuid]
        uuids = [str(u) for u in given]  # a misbehaving API's number is text here
        with self._lock:
            for uuid in uuids:
                had = self._seen.get(uuid.lower())
                if had is not None:
                    return self._why(uuid, had, name)
            if len({u.lower() for u in uuids}) < len(uuids):
                return self._why(next(u for u in uuids if uuids.count(u) > 1), name, name)
            self._seen.update((u.lower(), name) for u in uuids)
        return None

    def seen(self, uuid: str) -> bool:
        """True when this run (or the journal it resumes) had ``uuid`` (a call it placed)."""
        with self._lock:
            return uuid.lower() in self._seen

    def _why(self, uuid: str, had: str, name: str) -> str:
        whose = "another of its destinations" if had == name else f"call '{had}'"
        shown = outside(uuid, self.redact, 60)
        return (
            f"Plivo answered with request_uuid '{shown}', which {whose} already had in this "
            "run (or its journal): the answer cannot be believed, and whether this call was "
            "placed is unknown; check Plivo's console before sending it again (--resume "
            "--retry-unknown)"
        )
