"""Masking secrets: the auth token and declared secret values, in every output.

A :class:`Redactor` knows the secret strings of a run and replaces each
occurrence with ``***`` in text or inside JSON-like values.  Every writer
(terminal, report, JUnit, journal, error text) passes through one.

A UUID the API made (a ``request_uuid``, an ``api_id``) is an identifier, not a
spelling of a secret: a short secret (a PIN such as ``4321``) found by chance
inside one is left there, or a run's own report and journal would hold a call's
UUID corrupted and a ``--resume`` could not read the call back.  A UUID that is
itself a secret, or one a secret reaches into from beside it, is masked.
"""

from __future__ import annotations

import base64
import html
import json
import pprint
import re
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "***"
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
    (Jinja's ``upper``, ``lower``, ``title``, ``capitalize``, ``reverse``) and then
    escaped it for a message, JSON, a URL or HTML (``repr``, ``tojson``, ``pprint``,
    ``e``/``escape``/``forceescape``, ``urlencode``), in any chain of the two.

    Values are masked before they are serialized where callspec can, but error
    messages quote values with ``repr`` and a template may escape or URL-encode a
    value; a secret that a template transforms otherwise (base64, a slice) is a new
    value callspec cannot recognize.  The :class:`Redactor` also matches every
    spelling percent-encoded (:func:`encoded_pattern`): ``e | urlencode``.
    """
    found: set[str] = set()
    for changed in _changed(secret):
        found |= _escaped(changed)
    # A message quoting a value with repr doubles its backslashes: the JSON and tojson
    # spellings, so quoted, are spellings too.
    found |= {repr(s)[1:-1] for s in found if "\\" in s}
    return found


def _changed(secret: str) -> set[str]:
    """``secret`` through each of Jinja's filters that keep its characters but reorder them
    or change their case."""
    changed = {secret, secret[::-1]}
    if any(c.isalpha() for c in secret):
        changed |= {secret.upper(), secret.lower(), secret.title(), secret.capitalize()}
        # Jinja's title starts words only after spaces and brackets (``P@ss``, not ``P@Ss``).
        words = _JINJA_WORD_START.split(secret)
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


def _percent(byte: int) -> str:
    """``%7C`` or ``%7c`` (a regex): encoders differ on the hex digits' case."""
    return "%" + "".join(f"[{d.upper()}{d.lower()}]" if d.isalpha() else d for d in f"{byte:02X}")


def encoded_pattern(secret: str) -> str:
    """A regex matching ``secret`` percent-encoded in any way: each character as it is or
    as ``%XX`` (UTF-8, either hex case), a space also as ``+``.  So every mix of
    ``quote``/``quote_plus``/``urlencode`` with any ``safe`` set, ``requests``'
    ``requote_uri`` (``a|b@c^d`` on the wire is ``a%7Cb@c%5Ed``) and JavaScript's
    ``encodeURI*`` is one pattern, and so is a character no encoder escapes, escaped
    anyway (``%73ecret``): every decoder reads it as the secret, and a request's path or
    query, logged, is whatever its sender chose to write.
    """
    parts = []
    for char in secret:
        # Encoded first: a raw '%' must not match the start of a '%25'.
        options = ["".join(_percent(b) for b in char.encode("utf-8")), re.escape(char)]
        if char == " ":
            options.append(r"\+")
        parts.append(f"(?:{'|'.join(options)})")
    return "".join(parts)


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
    """Replaces known secret strings with ``***``; longest first, so overlaps mask fully."""

    def __init__(self, secrets: Iterable[str] = (), userinfo: bool = True) -> None:
        self._secrets: list[str] = []
        self._learned: set[str] = set()  # secrets added, each spelled out once
        #: Every spelling, longest first, and their percent-encoded patterns
        #: (:func:`encoded_pattern`), compiled when first needed.
        self._encodable: list[tuple[str, str]] = []  # (secret, its spaces as '+')
        #: Whether a spelling holds a space (then a '+' in a text may be one of it).
        self._spaced = False
        self._patterns: dict[str, re.Pattern[str]] = {}
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
        spelled = {v for secret in new for v in spellings(secret) if v}
        self._secrets = sorted(spelled.union(self._secrets), key=len, reverse=True)
        # Every spelling percent-encoded too: a template's ``reverse | urlencode``, or a
        # request that escapes letters no encoder escapes (``%73ecret``).
        encodable = {(s, s.replace(" ", "+")) for s in spelled}
        self._encodable = sorted({*self._encodable, *encodable}, key=lambda e: -len(e[0]))
        self._spaced = self._spaced or any(" " in s for s in spelled)

    def text(self, text: str) -> str:
        """``text`` with every secret masked, and every URL's userinfo; UUIDs kept whole."""
        if self.userinfo:
            text = mask_userinfo(text)
        if not self._secrets:
            return text
        masked = self._masked(text)
        if masked == text or "-" not in text:
            return masked  # nothing masked, or no UUID to keep: the usual case, and quick
        kept = [m.span() for m in _UUID.finditer(text) if self._identifier(text, *m.span())]
        if not kept:
            return masked
        pieces, at = [], 0
        for start, end in kept:
            pieces += [self._masked(text[at:start]), text[start:end]]
            at = end
        return "".join([*pieces, self._masked(text[at:])])

    def _identifier(self, text: str, start: int, end: int) -> bool:
        """Whether the UUID at ``text[start:end]`` stays as it is: it is not a secret, and
        no secret's occurrence reaches into it from outside (a secret wholly inside it
        is chance, a few digits of a random identifier)."""
        for secret in self._secrets:
            at = text.find(secret, max(0, start - len(secret) + 1), end + len(secret) - 1)
            while at != -1 and at < end:
                if at < start or at + len(secret) > end or secret == text[start:end]:
                    return False
                at = text.find(secret, at + 1, end + len(secret) - 1)
        return True

    def _masked(self, text: str) -> str:
        if "%" in text or (self._spaced and "+" in text):
            text = self._decoded(text)
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def _decoded(self, text: str) -> str:
        """``text`` with each secret masked however it is percent-encoded there.

        Only the secrets the decoded text holds are looked for; longest first, and
        before the plain spellings, so a shorter secret's spelling cannot cut a longer
        one's encoded form in two.
        """
        # A space may be '+', '%20' or itself, and a '+' itself: compare with both as '+'.
        decoded = urllib.parse.unquote(text).replace(" ", "+")
        for secret, key in self._encodable:
            if key not in decoded:
                continue
            pattern = self._patterns.get(secret)
            if pattern is None:
                pattern = self._patterns[secret] = re.compile(encoded_pattern(secret))
            text = pattern.sub(MASK, text)
        return text

    def value(self, value: Any) -> Any:
        """A copy of a JSON-like value with every string masked."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        if isinstance(value, dict):
            return {self.text(str(k)): self.value(v) for k, v in value.items()}
        return value
