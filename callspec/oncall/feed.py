"""A calendar named by URL (``each: {ical: https://...}``): fetched through the network layer.

A feed is requested once per run (the spec stage keeps what came back, keyed by the
URL) with :func:`callspec.net.fetch.fetch`, under the rules of every request callspec
makes: no credential from the environment, its proxy and CA settings from the
environment given, one deadline for the whole exchange (redirects and the body
included) and a bounded body.  What the server says (its status, its body, the words
of a failed connection) is outside text: it reaches a message only through
:func:`callspec.text.outside`.  Whether a command fetches at all is the plan's to
decide (:attr:`callspec.spec.model.PlanOptions.fetch_calendars`): commands that
promise to request nothing do not, unless asked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from callspec.net.fetch import fetch
from callspec.spec.loader import MAX_FILE_BYTES
from callspec.text import outside

#: The most of a feed that is read: a calendar file's own limit.
MAX_FEED_BYTES = MAX_FILE_BYTES
#: HTTP redirects followed (a calendar service may send a feed's URL elsewhere).
MAX_REDIRECTS = 3
_HEADERS = {
    "User-Agent": "callspec-oncall",
    "Accept": "text/calendar, */*;q=0.1",
}
_SHOWN_URL = 120  # characters of the URL in a message


@dataclass(frozen=True)
class Unread:
    """Why a feed gave no calendar, in words fit for a message (outside text cleaned)."""

    why: str


def shown_url(url: str, mask: Callable[[str], str]) -> str:
    """The URL as messages show it (a private feed's URL may carry a declared secret)."""
    return outside(url, mask, _SHOWN_URL)


def fetch_feed(
    url: str, environ: Mapping[str, str], timeout: float, mask: Callable[[str], str]
) -> str | Unread:
    """The text of the calendar at ``url`` (a GET within ``timeout`` seconds, at most
    :data:`MAX_FEED_BYTES`), or why there is none: unreachable, too slow, too big, an
    answer that is not 2xx, or a body that is no iCalendar text."""
    limit = f"the {MAX_FEED_BYTES >> 20} MiB limit for a calendar"
    got = fetch(
        url,
        "GET",
        {},
        environ=environ,
        timeout=timeout,
        max_bytes=MAX_FEED_BYTES,
        max_redirects=MAX_REDIRECTS,
        headers=_HEADERS,
        cap_name=limit,
    )
    where = f"the calendar at {shown_url(url, mask)}"
    if got.error is not None:
        return Unread(f"{where} could not be read: {outside(got.error, mask)}")
    if not got.ok:
        said = outside(got.body.decode("utf-8", "replace").strip(), mask)
        return Unread(f"{where} answered HTTP {got.status}" + (f": {said}" if said else ""))
    body = got.body.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte order mark
    # RFC 5545: a calendar stream begins with its VCALENDAR (a sign-in page, an error
    # document or a JSON API answered with 200 is not one).
    if not body.lstrip().upper().startswith(b"BEGIN:VCALENDAR"):
        kind = outside(got.content_type or "no Content-Type", mask, 60)
        begins = outside(body.decode("utf-8", "replace").strip()[:40], mask, 60)
        return Unread(
            f"{where} is not an iCalendar feed ({kind}"
            + (f", beginning '{begins}'" if begins else ", empty")
            + "): give the calendar's iCalendar (.ics) address"
        )
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as e:
        return Unread(f"{where} is not UTF-8 text: byte 0x{body[e.start]:02x} at {e.start:,}")
