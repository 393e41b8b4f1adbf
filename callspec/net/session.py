"""The one session factory: a keep-alive client whose settings come from the environment
passed in, never from the process's own, and never credentials.

``trust_env`` is off, so requests reads nothing behind the caller's back: no
``~/.netrc`` (whose ``Authorization`` would go to every host it names: a checked
answer_url, a team's handler), no proxy or CA variables of ``os.environ``.  What a
user configures for the network is taken from the ``environ`` given instead:

* the CA bundle: ``REQUESTS_CA_BUNDLE``, else ``CURL_CA_BUNDLE``;
* the proxy: ``{scheme}_proxy``, else ``all_proxy`` (lower case first, as curl and
  requests read them), unless ``no_proxy`` names the host: ``*``, a host or a domain
  and its subdomains (a leading dot or not), ``host:port``, an IP address or an IPv4
  CIDR range.  The matching is requests' own helpers for the ranges and the standard
  library's for the names, both given the value explicitly (requests' own
  ``should_bypass_proxies`` would rewrite ``os.environ`` while other threads read it).

A proxy's own credentials (``http://user:pass@proxy:3128``) go to the proxy, as the
user configured; nothing is ever sent to the server requested that the environment
supplied.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit
from urllib.request import proxy_bypass_environment  # type: ignore[attr-defined]

import requests
from requests.utils import address_in_network, is_ipv4_address, is_valid_cidr

from callspec.net.wire import WatchedAdapter


def _setting(environ: Mapping[str, str], name: str) -> str:
    return (environ.get(name) or environ.get(name.upper()) or "").strip()


def bypasses_proxy(url: str, no_proxy: str) -> bool:
    """Whether ``no_proxy`` (the variable's value) says ``url`` goes direct."""
    if not no_proxy:
        return False
    parts = urlsplit(url)
    host = parts.hostname
    if host is None:
        return True
    if is_ipv4_address(host):
        for entry in no_proxy.replace(" ", "").split(","):
            if is_valid_cidr(entry) and address_in_network(host, entry):
                return True
    try:
        port = parts.port
    except ValueError:
        port = None
    where = f"{host}:{port}" if port else host
    return bool(proxy_bypass_environment(where, {"no": no_proxy}))


def proxies_for(url: str, environ: Mapping[str, str]) -> dict[str, str]:
    """The proxy for ``url`` from ``environ`` (``{scheme: proxy}``, or none)."""
    scheme = urlsplit(url).scheme.lower()
    proxy = _setting(environ, f"{scheme}_proxy") or _setting(environ, "all_proxy")
    if not proxy or bypasses_proxy(url, _setting(environ, "no_proxy")):
        return {}
    return {scheme: proxy}


class Client:
    """One worker's way to the network: a keep-alive session with the environment's
    proxy and CA settings (``pool_size`` connections per host).  Not shared between
    threads; :meth:`close` it (or use it as a context manager)."""

    def __init__(self, environ: Mapping[str, str], pool_size: int = 1) -> None:
        self.environ = {
            name: value
            for name, value in environ.items()
            if name.lower().endswith("_proxy") or name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
        }
        session = requests.Session()
        session.trust_env = False
        #: The CA bundle servers are verified with, else the default store.
        self.verify: bool | str = (
            environ.get("REQUESTS_CA_BUNDLE") or environ.get("CURL_CA_BUNDLE") or True
        )
        session.verify = self.verify
        adapter = WatchedAdapter(pool_size)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        self.session = session
        self._proxies: dict[tuple[str, str], dict[str, str]] = {}
        #: Prepared requests kept by :mod:`callspec.net.exchange` (per URL and account).
        self.prepared: dict[Any, Any] = {}

    def proxies(self, url: str) -> dict[str, str]:
        """:func:`proxies_for` ``url``, worked out once per scheme and host."""
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc)
        found = self._proxies.get(key)
        if found is None:
            found = self._proxies[key] = proxies_for(url, self.environ)
        return found

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
