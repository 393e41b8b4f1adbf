"""The runner's channel to the service: requests and answers signed with the auth token.

Both sides already hold the account's auth token (the runner to place calls, the
service to check Plivo's signatures), so the channel needs no other secret:

- **key**: ``HMAC-SHA256(auth_token, "callspec serve channel v1")``, so a channel
  signature can never be taken for a Plivo signature (which is keyed by the token
  itself), nor the other way round;
- **request**: the client sends ``X-Callspec-Timestamp`` (Unix seconds),
  ``X-Callspec-Nonce`` (32 hex digits, fresh per request) and ``X-Callspec-Signature``,
  the base64 of ``HMAC-SHA256(key, TEXT)`` where TEXT is the lines
  ``callspec-serve-v1``, METHOD, PATH, TIMESTAMP, NONCE and SHA256(BODY) joined by ``\\n``;
  PATH is the path below the service's base URL with its query
  (``/v1/calls/ID``) and ``SHA256(BODY)`` is hex;
- **replay bounds**: the service refuses a timestamp more than :data:`WINDOW_S`
  seconds from its clock, and a nonce it has seen within the window (nonces are
  kept in the store for the window, so a restart does not forget them);
- **answer**: the service signs its answer the same way over
  the lines ``callspec-serve-v1 answer``, NONCE, STATUS, SHA256(BODY) with the request's
  nonce, and the client refuses an answer whose signature does not verify: an
  "acknowledged" cannot be forged by whoever sits between them, nor replayed from
  another request.

The message text travels only in a request body, never in a URL.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

TIMESTAMP = "X-Callspec-Timestamp"
NONCE = "X-Callspec-Nonce"
SIGNATURE = "X-Callspec-Signature"
#: Seconds a signed request stays acceptable either side of the service's clock.
WINDOW_S = 300
_PURPOSE = b"callspec serve channel v1"
_REQUEST = "callspec-serve-v1"
_ANSWER = "callspec-serve-v1 answer"
_NONCE_CHARS = frozenset("0123456789abcdef")


def channel_key(auth_token: str) -> bytes:
    """The channel's key, derived from the auth token (never the token itself)."""
    return hmac.new(auth_token.encode(), _PURPOSE, hashlib.sha256).digest()


def _mac(key: bytes, text: str) -> str:
    return base64.b64encode(hmac.new(key, text.encode(), hashlib.sha256).digest()).decode()


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def request_text(method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    """The string a request's signature covers."""
    return "\n".join((_REQUEST, method.upper(), path, timestamp, nonce, _digest(body)))


def sign_request(key: bytes, method: str, path: str, body: bytes, now: float) -> dict[str, str]:
    """The headers that sign a request to ``path`` (below the service's base URL)."""
    timestamp, nonce = str(int(now)), secrets.token_hex(16)
    signature = _mac(key, request_text(method, path, timestamp, nonce, body))
    return {TIMESTAMP: timestamp, NONCE: nonce, SIGNATURE: signature}


@dataclass(frozen=True)
class Verdict:
    """Whether a signed request verifies; ``reason`` says why not (for the log, never secret)."""

    ok: bool
    reason: str = ""
    nonce: str = ""
    expires: float = 0.0  # until when the nonce must be remembered


def verify_request(
    key: bytes,
    method: str,
    path: str,
    body: bytes,
    headers: Mapping[str, str],
    now: float,
) -> Verdict:
    """Check a request's signature and timestamp (the caller then checks the nonce is new)."""
    timestamp, nonce = headers.get(TIMESTAMP, ""), headers.get(NONCE, "")
    signature = headers.get(SIGNATURE, "")
    if not (timestamp and nonce and signature):
        return Verdict(False, "unsigned: the channel's headers are missing")
    if len(nonce) != 32 or not set(nonce) <= _NONCE_CHARS:
        return Verdict(False, "the nonce is not 32 hex digits")
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        return Verdict(False, "the timestamp is not Unix seconds")
    if abs(now - int(timestamp)) > WINDOW_S:
        return Verdict(False, f"the timestamp is more than {WINDOW_S} s from the service's clock")
    expected = _mac(key, request_text(method, path, timestamp, nonce, body))
    if not hmac.compare_digest(expected.encode(), signature.strip().encode("utf-8", "replace")):
        return Verdict(False, "the signature does not verify")
    return Verdict(True, nonce=nonce, expires=int(timestamp) + WINDOW_S)


def sign_answer(key: bytes, nonce: str, status: int, body: bytes) -> str:
    """The ``X-Callspec-Signature`` of the service's answer to the request with ``nonce``."""
    return _mac(key, "\n".join((_ANSWER, nonce, str(status), _digest(body))))


def verify_answer(key: bytes, nonce: str, status: int, body: bytes, signature: str) -> bool:
    """True when ``signature`` signs this answer to the request with ``nonce``."""
    expected = sign_answer(key, nonce, status, body)
    return hmac.compare_digest(expected.encode(), signature.strip().encode("utf-8", "replace"))
