"""Masking secrets: the auth token and declared secret values, in every output.

A :class:`Redactor` knows the secret strings of a run and replaces each
occurrence with ``***`` in text or inside JSON-like values.  Every writer
(terminal, report, JUnit, journal, error text) passes through one.

Spellings are matched in any letter case and reversed too, all as one regex; a
text that may be percent-encoded is decoded to see which are there.

A UUID the API made (a ``request_uuid``, an ``api_id``) is an identifier, not a
spelling of a secret: a short secret (at most :data:`CHANCE` characters, a PIN
such as ``4321``) found by chance inside one is left there, or a run's own report
and journal would hold a call's UUID corrupted and a ``--resume`` could not read
the call back.  A UUID holding a longer secret (no chance put it there: a hostile
API may echo one), or one a secret reaches into from beside it in any spelling,
percent-encoded too, is masked.

A command's last-resort error message masks the secrets the plan builder declares
to the command's redactor (:func:`command_redactor`, :func:`declare`).
"""

from __future__ import annotations

import base64
import contextlib
import html
import json
import pprint
import re
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache
from typing import Any

MASK = "***"
#: The longest secret a UUID holds by chance (a PIN); a longer one is no chance: masked.
CHANCE = 8
#: A UUID standing alone (not inside a longer word, a path of dashes or an encoding).
_UUID = re.compile(
    r"(?<![\w%+-])[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![\w%+-])"
)
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#\s@]*@")
#: Where Jinja's ``title`` filter starts a word (jinja2.filters' ``_word_beginning_split_re``).
_JINJA_WORD_START = re.compile(r"([-\s({\[<]+)")


def mask_userinfo(text: str) -> str:
    """URLs in ``text`` with their userinfo masked (``https://***@host``): a token typed there."""
    if "@" not in text:
        return text
    return _USERINFO.sub(lambda m: f"{m[1]}{MASK}@", text)


def spellings(secret: str) -> set[str]:
    """A secret as written, and as it reads once a template's filters have changed it
    (Jinja's ``upper``, ``lower``, ``title``, ``capitalize``, ``reverse``) and escaped it
    for a message, JSON, a URL or HTML (``repr``, ``tojson``, ``pprint``,
    ``e``/``escape``/``forceescape``, ``urlencode``), in any chain of the two.

    The :class:`Redactor` matches these in any letter case, so every case change before
    or after an escape is one of them (``e | upper``: ``&AMP;``), and each is here
    reversed too (``e | reverse``, ``urlencode | reverse``).  Values are masked before they
    are serialized where callspec can, but error messages quote values with ``repr`` and
    a template may escape or URL-encode a value; a secret that a template transforms
    otherwise (base64, a slice, ``replace``, ``wordwrap``) is a new value callspec cannot
    recognize.  The :class:`Redactor` also matches every spelling percent-encoded
    (:func:`encoded_pattern`): ``e | urlencode``.
    """
    found: set[str] = set()
    for changed in _changed(secret):
        for escaped in _escaped(changed):
            found |= {escaped, escaped[::-1]}
    # A message quoting a value with repr doubles its backslashes: the JSON and tojson
    # spellings, so quoted, are spellings too.
    found |= {repr(s)[1:-1] for s in found if "\\" in s}
    return found


@lru_cache(maxsize=256)
def _spelled(secret: str) -> frozenset[str]:
    """:func:`spellings`, remembered: a run makes a redactor for the same secrets often."""
    return frozenset(s for s in spellings(secret) if s)


def _changed(secret: str) -> set[str]:
    """``secret`` and its reversal, through each of Jinja's filters that change letter case
    and may change the length: matched in any case, ``upper`` and ``lower`` are needed
    only where a letter's case has other letters (``ß`` upper-cased is ``SS``)."""
    changed = set()
    for order in (secret, secret[::-1]):
        changed.add(order)
        if any(c.isalpha() for c in order):
            changed |= {order.upper(), order.lower(), order.title(), order.capitalize()}
            # Jinja's title starts words only after spaces and brackets (``P@ss``, not ``P@Ss``).
            words = _JINJA_WORD_START.split(order)
            changed.add("".join(w[0].upper() + w[1:].lower() for w in words if w))
    return changed


def _escaped(secret: str) -> set[str]:
    """``secret`` as it is, and escaped for a message, JSON, a URL or HTML."""
    dumped = json.dumps(secret)[1:-1]
    found = {
        secret,
        repr(secret)[1:-1],
        dumped,
        json.dumps(secret, ensure_ascii=False)[1:-1],
        # Jinja's tojson: JSON with <, >, & and ' as \u escapes (markupsafe's htmlsafe).
        _htmlsafe_json(dumped),
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote(secret),  # Jinja's urlencode keeps '/'
        urllib.parse.quote_plus(secret),
        urllib.parse.quote_plus(secret, safe=""),
        html.escape(secret),
        html.escape(secret, quote=False),
        # markupsafe (Jinja's e, escape, forceescape, autoescape) spells quotes as numbers.
        html.escape(secret, quote=False).replace('"', "&#34;").replace("'", "&#39;"),
    }
    # Jinja's pprint is repr (a spelling above), but cuts a long value in fragments, one a line.
    pretty = pprint.pformat(secret)
    if "\n" in pretty:
        found.add(pretty)
    return found


def _htmlsafe_json(dumped: str) -> str:
    return (
        dumped.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("'", "\\u0027")
    )


def encoded_pattern(secret: str) -> str:
    """A regex (to compile ignoring case) matching ``secret`` percent-encoded in any way,
    in any letter case: each character as it is or as ``%XX`` (UTF-8, either hex case), a
    space also as ``+``.  So every mix of ``quote``/``quote_plus``/``urlencode`` with any
    ``safe`` set, ``requests``' ``requote_uri`` (``a|b@c^d`` on the wire is
    ``a%7Cb@c%5Ed``) and JavaScript's ``encodeURI*`` is one pattern, and so is a character
    no encoder escapes, escaped anyway (``%73ecret``): every decoder reads it as the
    secret, and a request's path or query, logged, is whatever its sender chose to write.

    A ``+`` in ``secret`` stands for a space or a plus: it is how the redactor compares a
    decoded text, in which either may be either.
    """
    parts = []
    for char in secret:
        if char in " +":
            parts.append(r"(?:%20|%2B|\+| )")
            continue
        # A letter encoded in either case (its own case is ignored), encoded first: a raw
        # '%' must not match the start of a '%25'.
        cases = dict.fromkeys([char, char.lower(), char.upper()])
        encoded = ["".join(f"%{b:02X}" for b in c.encode("utf-8")) for c in cases]
        parts.append(f"(?:{'|'.join([*encoded, re.escape(char)])})")
    return "".join(parts)


def _alternation(spelled: Iterable[str], flags: int = 0) -> re.Pattern[str]:
    """One regex matching any of ``spelled``, the longest first (so at each position the
    whole of the longest spelling found there)."""
    ordered = sorted(spelled, key=lambda s: (-len(s), s))
    return re.compile("|".join(map(re.escape, ordered)), flags)


def _spans(pattern: re.Pattern[str], text: str) -> Iterator[tuple[int, int]]:
    """Where ``pattern`` matches in ``text``: at each position the longest match, so matches
    that overlap are all found (two secrets overlapping mask their union)."""
    found = pattern.search(text)
    while found is not None:
        yield found.span()
        found = pattern.search(text, found.start() + 1)


def environment_secrets(environ: Mapping[str, str]) -> list[str]:
    """The secrets every output must hide before any profile is read: the env's token.

    With the auth ID, also the basic-auth header value they make, which a
    server or proxy may echo.
    """
    token = environ.get("PLIVO_AUTH_TOKEN")
    if not token:
        return []
    return [token, basic_auth(environ.get("PLIVO_AUTH_ID", ""), token)]


def basic_auth(auth_id: str, token: str) -> str:
    """The Authorization header's credentials (base64 of ``auth_id:token``): a spelling of
    the token that callspec itself produces, so outputs mask it too."""
    pair = f"{auth_id}:{token}".encode("latin-1", "replace")
    return base64.b64encode(pair).decode("ascii")


class Redactor:
    """Replaces known secret strings with ``***``; overlapping ones mask their union."""

    def __init__(self, secrets: Iterable[str] = (), userinfo: bool = True) -> None:
        self._learned: set[str] = set()  # secrets added, each spelled out once
        #: Every spelling, and their lower-case forms (how texts are compared: lower-cased).
        self._spelled: set[str] = set()
        self._lowered: set[str] = set()
        #: Whether a spelling holds a space (then a '+' in a text may be one of it).
        self._spaced = False
        #: The spellings as regexes, compiled when first needed after secrets were added,
        #: by (whether for a decoded text: spaces as '+'; whether ignoring case, for a text
        #: whose lower case has another length, ``İ``; else lower-cased, for a lower-cased
        #: text, a plain search: the quick one).
        self._patterns: dict[tuple[bool, bool], re.Pattern[str]] = {}
        #: Each spelling found decoded, as the regex of its percent-encodings.
        self._encoded: dict[str, re.Pattern[str]] = {}
        #: Mask every URL's userinfo (``https://***@host``); off only for ``render
        #: --format curl``, whose command must send the URLs the spec wrote.
        self.userinfo = userinfo
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Learn more secret strings (empty ones are ignored), with their escaped spellings."""
        new = {secret for secret in secrets if secret and secret not in self._learned}
        if not new:
            return  # a run adds its token once per call: nothing to spell out again
        self._learned |= new
        for secret in new:
            self._spelled |= _spelled(secret)
        self._lowered = {s.lower() for s in self._spelled}
        self._spaced = self._spaced or any(" " in s for s in self._lowered)
        self._patterns = {}

    def text(self, text: str) -> str:
        """``text`` with every secret masked, and every URL's userinfo; UUIDs kept whole."""
        if self.userinfo:
            text = mask_userinfo(text)
        if not self._spelled:
            return text
        spans = self._found(text)
        if not spans:
            return text  # the usual case, and quick: one regex search
        if "-" in text:
            spans = self._outside_identifiers(text, spans)
        pieces, at = [], 0
        for start, end in sorted(spans):
            if end <= at:
                continue  # within the mask before
            if start >= at:  # (one overlapping the mask before extends it)
                pieces += [text[at:start], MASK]
            at = end
        return "".join([*pieces, text[at:]])

    def _found(self, text: str) -> list[tuple[int, int]]:
        """Where a secret is in ``text``, in any spelling, percent-encoded or not."""
        subject, pattern = self._compared(text, decoded=False)
        spans = list(_spans(pattern, subject))
        if "%" in text or (self._spaced and "+" in text):
            spans += self._decoded(text)
        return spans

    def _compared(self, text: str, decoded: bool) -> tuple[str, re.Pattern[str]]:
        """``text`` as it is compared with the spellings (lower-cased, where that keeps its
        length), and the regex of the spellings to search it with (a ``decoded`` text's:
        spaces as '+')."""
        lowered = text.lower()
        anycase = len(lowered) != len(text)  # a letter whose lower case is two: 'İ'
        pattern = self._patterns.get((decoded, anycase))
        if pattern is None:
            spelled = self._spelled if anycase else self._lowered
            if decoded:
                spelled = {s.replace(" ", "+") for s in spelled}
            pattern = _alternation(spelled, re.IGNORECASE if anycase else 0)
            self._patterns[decoded, anycase] = pattern
        return (text if anycase else lowered), pattern

    def _decoded(self, text: str) -> Iterator[tuple[int, int]]:
        """Where a secret is in ``text`` however it is percent-encoded there: each spelling
        the decoded text holds, looked for as its encodings (:func:`encoded_pattern`)."""
        # A space may be '+', '%20' or itself, and a '+' itself: compare with both as '+'.
        decoded, keys = self._compared(urllib.parse.unquote(text).replace(" ", "+"), True)
        for key in {decoded[a:b] for a, b in _spans(keys, decoded)}:
            pattern = self._encoded.get(key)
            if pattern is None:
                if len(self._encoded) > 1024:  # ('İ' makes a key of each case: bounded)
                    self._encoded.clear()
                pattern = self._encoded[key] = re.compile(encoded_pattern(key), re.IGNORECASE)
            yield from _spans(pattern, text)

    @staticmethod
    def _outside_identifiers(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """``spans`` without those inside a UUID kept whole: a UUID holding only secrets of a
        PIN's length (at most :data:`CHANCE` characters, a few digits of a random
        identifier by chance), none reaching into it from outside."""
        for uuid in _UUID.finditer(text):
            start, end = uuid.span()
            inside = [(a, b) for a, b in spans if a < end and b > start]
            if inside and all(start <= a and b <= end and b - a <= CHANCE for a, b in inside):
                spans = [span for span in spans if span not in inside]
        return spans

    def value(self, value: Any) -> Any:
        """A copy of a JSON-like value with every string masked."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        if isinstance(value, dict):
            return {self.text(str(k)): self.value(v) for k, v in value.items()}
        return value


#: The redactors of the commands running, the innermost last (:func:`command_redactor`).
_COMMANDS: list[Redactor] = []


@contextlib.contextmanager
def command_redactor(redactor: Redactor) -> Iterator[Redactor]:
    """``redactor`` as the running command's while the block runs: the plan builder tells
    it each declared secret as it learns one (:func:`declare`), so a message the command
    writes where the run's own redactor is out of reach (the CLI's error handler, for an
    error nobody expected) masks them too."""
    _COMMANDS.append(redactor)
    try:
        yield redactor
    finally:
        _COMMANDS.pop()


def declare(secrets: Iterable[str]) -> None:
    """Secrets the plan builder learned (a profile's declared values), told to the running
    command's redactor (:func:`command_redactor`); outside a command, nothing."""
    if _COMMANDS:
        _COMMANDS[-1].add(secrets)
