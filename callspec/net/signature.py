"""Plivo's request signatures (``X-Plivo-Signature-V2`` and ``-V3``): making and checking them.

Plivo signs each request it makes to a team's URLs with the account's auth
token: V2 is an HMAC-SHA256 of the URL (without its query) and a nonce; V3 of
the URL with its query and the parameters sorted (for a POST, the form
parameters appended as ``keyvalue`` pairs) and a nonce, base64-encoded.  The
string signed is built as the official SDKs build it (plivo-python's
``utils/signature_v3.py``, ``construct_get_url`` / ``construct_post_url``), so
the SDK's validator accepts what the sandbox signs, and :func:`verify_v3`
accepts what Plivo (or the SDK) signs.  A V3 header may carry several
signatures separated by commas (Plivo sends one per active auth token).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from urllib.parse import parse_qs, urlsplit, urlunsplit

V2 = "X-Plivo-Signature-V2"
V2_NONCE = "X-Plivo-Signature-V2-Nonce"
V3 = "X-Plivo-Signature-V3"
V3_NONCE = "X-Plivo-Signature-V3-Nonce"


def _base(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _sorted_query(params: Mapping[str, Sequence[str]]) -> str:
    return "&".join(
        "&".join(f"{key}={value}" for value in sorted(params[key])) for key in sorted(params)
    )


def v3_base(url: str, method: str, params: Mapping[str, str]) -> str:
    """The string Plivo signs for V3 (before the nonce): the SDKs' ``construct_*_url``."""
    query = parse_qs(urlsplit(url).query, keep_blank_values=True)
    if method.upper() == "GET":
        merged: dict[str, Sequence[str]] = {key: [value] for key, value in params.items()}
        merged.update(query)
        text = _sorted_query(merged)
        return _base(url) + (f"?{text}" if text else "")
    text = _sorted_query(query)
    base = _base(url)
    if text or params:
        base += f"?{text}"
    if text and params:
        base += "."
    return base + "".join(f"{key}{params[key]}" for key in sorted(params))


def _sign(token: str, message: str) -> str:
    digest = hmac.new(token.encode(), message.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _nonce() -> str:
    return str(secrets.randbelow(10**20)).zfill(20)


def signature_headers(
    url: str, method: str, params: Mapping[str, str], auth_token: str
) -> dict[str, str]:
    """Plivo's signature headers for a request to ``url`` (V2: URL + nonce; V3: URL,
    parameters, nonce), and the ``-Ma-`` copies Plivo sends beside them."""
    nonce_v2, nonce_v3 = _nonce(), _nonce()
    v2 = _sign(auth_token, _base(url) + nonce_v2)
    v3 = _sign(auth_token, f"{v3_base(url, method, params)}.{nonce_v3}")
    return {
        V2: v2,
        "X-Plivo-Signature-Ma-V2": v2,
        V2_NONCE: nonce_v2,
        V3: v3,
        "X-Plivo-Signature-Ma-V3": v3,
        V3_NONCE: nonce_v3,
    }


def verify_v3(
    url: str,
    method: str,
    params: Mapping[str, str],
    nonce: str,
    signature: str,
    auth_token: str,
) -> bool:
    """True when ``signature`` (an ``X-Plivo-Signature-V3`` header: one or more signatures,
    comma-separated) signs this request with ``auth_token``.  ``url`` is the URL Plivo
    requested, as the server's public address spells it (scheme, host, path and query)."""
    if not nonce or not signature or not auth_token:
        return False
    expected = _sign(auth_token, f"{v3_base(url, method, params)}.{nonce}")
    return any(
        hmac.compare_digest(expected.encode(), candidate.strip().encode())
        for candidate in signature.split(",")
    )
