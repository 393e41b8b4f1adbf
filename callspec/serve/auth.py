"""Who may ask the service anything: Plivo's signature, and the runner's channel.

Plivo signs every request it makes with the account's auth token
(``X-Plivo-Signature-V3`` over the URL it requested, the parameters and
``X-Plivo-Signature-V3-Nonce``; :func:`callspec.net.signature.verify_v3`).  The URL
verified must be the one Plivo requested, which behind a TLS proxy is not the one
the service sees, so it is built explicitly (:class:`PublicUrl`):

- with ``--public-url https://acks.example.com/base``: that base, then the path
  below it (the proxy may pass the base's path on, or strip it), then the query;
- otherwise from the request as PEP 3333 rebuilds it (``wsgi.url_scheme``, ``Host``,
  path, query).  Behind a proxy this holds the proxy's ``X-Forwarded-Proto`` /
  ``-Host`` / ``-Port`` only when waitress was told to trust that proxy
  (``--trusted-proxy``); from anyone else waitress drops those headers.

The runner's requests carry the channel's signature (:mod:`callspec.serve.channel`);
their nonces are remembered in the store, so a replay within the window is refused
even across a restart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from callspec.net.signature import V3, V3_NONCE, verify_v3
from callspec.serve.channel import NONCE, SIGNATURE, TIMESTAMP, Verdict, verify_request
from callspec.serve.store import Store

Environ = Mapping[str, object]


def _text(environ: Environ, key: str) -> str:
    value = environ.get(key, "")
    return value if isinstance(value, str) else ""


@dataclass(frozen=True)
class PublicUrl:
    """How the service's public address is known: ``base`` (``--public-url``), or None to
    rebuild it from each request."""

    base: str | None = None

    def __post_init__(self) -> None:
        if self.base is not None:
            parts = urlsplit(self.base)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(f"the public URL must be an absolute http(s) URL: {self.base}")
            if parts.query or parts.fragment:
                raise ValueError("the public URL takes no query or fragment")

    @property
    def prefix(self) -> str:
        """The path of the base URL (``/base``; "" at the root)."""
        return urlsplit(self.base).path.rstrip("/") if self.base else ""

    def route(self, environ: Environ) -> str:
        """The path below the service's base: what routes and the channel's signature use."""
        path = _text(environ, "PATH_INFO") or "/"
        prefix = self.prefix
        if prefix and (path == prefix or path.startswith(prefix + "/")):
            path = path[len(prefix) :] or "/"
        return path

    def root(self, environ: Environ) -> str:
        """The service's public base URL, without a trailing slash."""
        if self.base is not None:
            return self.base.rstrip("/")
        scheme = _text(environ, "wsgi.url_scheme") or "http"
        host = _text(environ, "HTTP_HOST")
        if not host:
            host = _text(environ, "SERVER_NAME")
            port = _text(environ, "SERVER_PORT")
            if port and port != {"https": "443", "http": "80"}.get(scheme):
                host += f":{port}"
        return f"{scheme}://{host}{quote(_text(environ, 'SCRIPT_NAME'))}"

    def url(self, environ: Environ) -> str:
        """The URL the client requested, as it spelled it publicly (scheme, host, path, query)."""
        query = _text(environ, "QUERY_STRING")
        return self.root(environ) + quote(self.route(environ)) + (f"?{query}" if query else "")


#: Why a request without Plivo's signature headers is refused.
UNSIGNED = f"unsigned: no {V3} and nonce"


def _header(environ: Environ, name: str) -> str:
    return _text(environ, "HTTP_" + name.upper().replace("-", "_"))


def plivo_signed(environ: Environ) -> bool:
    """Whether the request carries Plivo's V3 signature and nonce at all."""
    return bool(_header(environ, V3) and _header(environ, V3_NONCE))


def plivo_problem(
    environ: Environ,
    public: PublicUrl,
    method: str,
    params: Mapping[str, str],
    auth_token: str,
) -> str | None:
    """Why a request is not Plivo's (unsigned, or a signature that does not verify with the
    auth token for the public URL); None when it is."""
    signature, nonce = _header(environ, V3), _header(environ, V3_NONCE)
    if not signature or not nonce:
        return UNSIGNED
    signed = params if method == "POST" else {}
    if not verify_v3(public.url(environ), method, signed, nonce, signature, auth_token):
        return f"{V3} does not verify for {public.url(environ)}"
    return None


def channel_verdict(
    environ: Environ,
    public: PublicUrl,
    key: bytes,
    body: bytes,
    now: float,
) -> Verdict:
    """Whether a runner's request is signed with the channel's key and in time (whether
    its nonce is new, the store says: :func:`replayed`)."""
    headers = {name: _header(environ, name) for name in (TIMESTAMP, NONCE, SIGNATURE)}
    query = _text(environ, "QUERY_STRING")
    path = public.route(environ) + (f"?{query}" if query else "")
    method = _text(environ, "REQUEST_METHOD")
    return verify_request(key, method, path, body, headers, now)


def replayed(verdict: Verdict, store: Store) -> Verdict | None:
    """The refusal of a signed request whose nonce was already used, else None (the
    nonce is remembered until the window closes).  The store may fail here: the
    caller answers that failure signed, as the request itself was."""
    if store.remember_nonce(verdict.nonce, verdict.expires):
        return None
    return Verdict(False, "replayed: the nonce was already used", verdict.nonce)
