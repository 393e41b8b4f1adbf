"""``cooldown:``: asking Plivo whether this destination was just called from this caller ID.

Before a call with ``cooldown: SECONDS`` is placed, Plivo's own lists are read
(:meth:`~callspec.delivery.reads.Reader.list_calls`), as Plivo documents them:
the live calls and the queued calls filtered by ``to_number`` and
``from_number``, then the detail records of completed calls filtered by the same
numbers and ``end_time__gte`` (the window's start, UTC).  Plivo is the state every
CI runner and every re-run shares: nothing else needs deploying.  A call found
there that this run (or the journal it resumes) did not place makes this one
*skipped*, saying which and when; callspec's own calls never count (a ``repeat``
round pages the same people on purpose).

Skipping a page needs positive evidence: a list that cannot be read (an error, a
timeout, an answer that is not a list) leaves the call to be placed, and says so.
What the lists cannot show is in ``docs/plivo-call-state.md``: a call another
runner placed in the same second may be neither live nor listed yet.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from callspec.delivery.credentials import Credentials
from callspec.delivery.reads import Reader
from callspec.spec.numbers import destination_key
from callspec.text import outside

#: Pages of detail records read at most (20 each, newest first): past them, only calls
#: of this run were seen, and the rest are older still.
MAX_PAGES = 5


def plivo_number(destination: str) -> str:
    """A number as Plivo's records spell it (E.164 digits, no ``+``); a SIP URI as written."""
    key = destination_key(destination)
    return key[1:] if key.startswith("+") else destination.strip()


def _text(value: object) -> str:
    return outside(value, str, 60)


class Cooldown:
    """Reads Plivo's lists for one call before it is placed; never raises."""

    def __init__(self, reader: Reader, ours: Callable[[str], bool]) -> None:
        self.reader = reader
        #: True for a call_uuid this run (or the journal it resumes) placed.
        self.ours = ours

    def check(
        self, api_url: str, creds: Credentials, body: Mapping[str, Any], seconds: int, now: datetime
    ) -> tuple[str | None, str | None]:
        """(why the call is skipped, or None; a note when the lists could not be read)."""
        to, caller = str(body.get("to", "")), str(body.get("from", ""))
        numbers = {"to_number": plivo_number(to), "from_number": plivo_number(caller)}
        since = now.astimezone(timezone.utc) - timedelta(seconds=seconds)
        for status in ("live", "queued"):
            reading = self.reader.list_calls(api_url, creds, {"status": status, **numbers})
            if reading.status != 200 or reading.doc is None:
                return None, self._unread(reading.error)
            uuids = reading.doc.get("calls")
            if not isinstance(uuids, list):
                return None, self._unread(f"its {status} calls are not a list")
            foreign = [str(u) for u in uuids if not self.ours(str(u))]
            if foreign:
                return self._skip(f"a {status} call ({_text(foreign[0])})", seconds), None
        window = {**numbers, "end_time__gte": since.strftime("%Y-%m-%d %H:%M:%S"), "limit": "20"}
        for page in range(MAX_PAGES):
            query = {**window, "offset": str(page * 20)}
            reading = self.reader.list_calls(api_url, creds, query)
            if reading.status != 200 or reading.doc is None:
                return None, self._unread(reading.error)
            records = reading.doc.get("objects")
            if not isinstance(records, list):
                return None, self._unread("its detail records are not a list")
            for record in records:
                found = self._recent(record, to, caller, since)
                if found is not None:
                    return self._skip(found, seconds), None
            more = (reading.doc.get("meta") or {}).get("next")
            if len(records) < 20 or not more:
                break
        return None, None

    def _recent(self, record: object, to: str, caller: str, since: datetime) -> str | None:
        """``record`` as the words of a call that counts (another's, to this number from
        this caller ID, ended in the window); None when it does not count.  Each field is
        checked again: the list's filters are the API's word, and answers are untrusted."""
        if not isinstance(record, dict):
            return None
        uuid, said_to, said_from = (
            str(record.get(k) or "") for k in ("call_uuid", "to_number", "from_number")
        )
        if not uuid or self.ours(uuid):
            return None
        if destination_key(said_to) != destination_key(to):
            return None
        if destination_key(said_from) != destination_key(caller):
            return None
        ended = _time(record.get("end_time"))
        if ended is None or ended < since:
            return None
        return f"a call ({_text(uuid)}) that ended at {ended.isoformat(timespec='seconds')}"

    def _skip(self, found: str, seconds: int) -> str:
        return (
            f"cooldown: Plivo shows {found} to this destination from this caller ID within "
            f"the last {seconds} s, placed by another run; not called again"
        )

    def _unread(self, error: str | None) -> str:
        return (
            f"cooldown: Plivo's calls could not be read ({error or 'no answer'}); placed: "
            "skipping a page needs a record of the other call"
        )


def _time(value: object) -> datetime | None:
    """A detail record's time (Plivo: ``YYYY-MM-DD HH:MM:SS[+HH:MM]``; no zone: UTC)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)
