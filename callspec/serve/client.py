"""The runner's side of the service: register a call's prompt, read its acknowledgement back.

Usage, per call (the ID is the runner's, so it can journal the answer URL first)::

    client = ServiceClient("https://acks.example.com", auth_token)
    id = new_id()
    answer_url = client.answer_url(id)           # pure: nothing sent
    client.register(id, Prompt("Deploy failed. Press 1 to take it.", digit="1"))
    ... place the call with answer_url ...
    client.status(id).acknowledged

Every request and answer is signed (:mod:`callspec.serve.channel`); an answer that
is not signed by a service holding the same token is refused, never believed.
``register`` is idempotent (the same ID and prompt: the same answer), so the runner
may send it again after a failure.  Nothing here retries on its own.

All HTTP goes through :func:`_exchange`: the network layer's one API exchange
(:func:`callspec.net.exchange.exchange`: one deadline for the whole exchange, a bounded
body, the network settings (proxy, CA bundle) from the environment passed in, nothing
read from the process's own, no ``~/.netrc``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from callspec.errors import CallspecError
from callspec.redact import Redactor
from callspec.serve import status as statuses
from callspec.serve.channel import NONCE, SIGNATURE, channel_key, sign_request, verify_answer
from callspec.serve.prompt import Prompt, valid_id
from callspec.serve.status import Status
from callspec.text import outside

#: The largest answer read from the service (a status of 100 calls is about 30 KB).
MAX_ANSWER_BYTES = 256 * 1024


class ServiceError(CallspecError):
    """The service could not be reached, refused a request, or answered what cannot be
    believed; the words are safe to show (masked, cut, escaped)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Registration:
    """A registered prompt: the answer URL to place the call with, and when it expires."""

    id: str
    answer_url: str
    expires_at: datetime


@dataclass(frozen=True)
class _Answer:
    status: int
    headers: dict[str, str]
    body: bytes


class ServiceClient:
    """Talks to one service at ``url`` (its public base URL, as Plivo reaches it)."""

    def __init__(
        self,
        url: str,
        auth_token: str,
        timeout_s: float = 10.0,
        clock: Callable[[], float] = time.time,
        redactor: Redactor | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
            raise ValueError(f"the service URL must be an http(s) base URL: {url}")
        if not auth_token:
            raise ValueError("the service client needs the account's auth token")
        self.url = url.rstrip("/")
        self._key = channel_key(auth_token)
        self._timeout_s = timeout_s
        self._clock = clock
        self._redactor = redactor or Redactor([auth_token])
        self._environ = dict(environ or {})  # proxy and CA settings only are read

    def answer_url(self, id: str) -> str:
        """The ``answer_url`` of the registration ``id`` (pure: nothing is sent)."""
        return f"{self.url}/plivo/answer/{_checked(id)}"

    def register(self, id: str, prompt: Prompt) -> Registration:
        """Register ``prompt`` under ``id`` (again: harmless); :class:`ServiceError` when
        the service refuses it, or sees itself at another URL than this client does
        (Plivo's signatures would then fail at every call)."""
        body = json.dumps(prompt.to_json()).encode()
        answer = self._call("PUT", f"/v1/calls/{_checked(id)}", body)
        if answer.status not in (200, 201):
            raise self._refused("register", answer)
        payload = self._json(answer)
        served = payload.get("answer_url")
        if served != self.answer_url(id):
            shown = outside(served, self._redactor.text)
            raise ServiceError(
                f"the service gives the answer URL {shown}, not {self.answer_url(id)}: "
                "start it with --public-url set to the URL this runner uses"
            )
        try:
            expires = datetime.fromisoformat(str(payload.get("expires_at")))
        except ValueError as e:
            raise ServiceError("the service's answer has no expiry time") from e
        return Registration(id, self.answer_url(id), expires)

    def status(self, id: str) -> Status:
        """The registration's calls and acknowledgement, as the service has them."""
        answer = self._call("GET", f"/v1/calls/{_checked(id)}", b"")
        if answer.status != 200:
            raise self._refused("read", answer)
        try:
            return statuses.from_json(self._json(answer))
        except ValueError as e:
            reason = outside(e, self._redactor.text)
            raise ServiceError(f"the service's status is malformed: {reason}") from e

    # One signed exchange.

    def _call(self, method: str, path: str, body: bytes) -> _Answer:
        headers = sign_request(self._key, method, path, body, self._clock())
        answer = _exchange(method, self.url + path, headers, body, self._timeout_s, self._environ)
        if isinstance(answer, str):  # the network's words: masked, cut, escaped
            raise ServiceError(f"{method} {self.url}{path}: {outside(answer, self._redactor.text)}")
        if answer.status == 403:
            return answer  # unsigned by design: the service did not believe the request
        signature = answer.headers.get(SIGNATURE.lower(), "")
        if not verify_answer(self._key, headers[NONCE], answer.status, answer.body, signature):
            raise ServiceError(
                f"{method} {self.url}{path}: the answer (HTTP {answer.status}) is not signed "
                "by a service holding this auth token"
            )
        return answer

    def _json(self, answer: _Answer) -> dict[str, object]:
        try:
            payload = json.loads(answer.body)
        except (ValueError, RecursionError) as e:
            raise ServiceError("the service's answer is not JSON") from e
        if not isinstance(payload, dict):
            raise ServiceError("the service's answer is not a JSON object")
        return payload

    def _refused(self, what: str, answer: _Answer) -> ServiceError:
        if answer.status == 403:
            return ServiceError(
                f"the service refused to {what}: it does not hold this account's auth token, "
                "or the clocks differ by more than 5 minutes",
                403,
            )
        try:
            text = json.loads(answer.body).get("error", "")
        except (ValueError, AttributeError, RecursionError):
            text = ""
        said = f": {outside(text, self._redactor.text)}" if text else ""
        if answer.status >= 500 and answer.status != 507:  # (507: full, its words say so)
            return ServiceError(
                f"the answer service failed to {what} (HTTP {answer.status}){said}; "
                "its log says why",
                answer.status,
            )
        return ServiceError(
            f"the service refused to {what} (HTTP {answer.status}){said}", answer.status
        )


def _checked(id: str) -> str:
    if not valid_id(id):
        raise ValueError(f"not a registration ID: {id!r}")
    return id


def _exchange(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes,
    timeout_s: float,
    environ: Mapping[str, str],
) -> _Answer | str:
    """One HTTP request within ``timeout_s`` for the whole exchange; the answer, or why
    there is none (a short reason)."""
    from callspec.net.exchange import exchange  # the HTTP stack loads with a first request
    from callspec.net.session import Client

    with Client(environ) as client:
        reply = exchange(
            client,
            method,
            url,
            timeouts=(timeout_s, timeout_s),
            total=timeout_s,
            headers={"Content-Type": "application/json", **headers},
            body=body or None,
            max_bytes=MAX_ANSWER_BYTES,
        )
    if reply.reason is not None:
        if reply.reason.kind in ("deadline", "timeout"):
            return f"no answer within {timeout_s:g} s"
        return f"cannot reach the service ({reply.reason.words})"
    if reply.over:
        return f"the answer is larger than {MAX_ANSWER_BYTES} bytes"
    assert reply.status is not None
    kept = {name.lower(): value for name, value in reply.headers.items()}
    return _Answer(reply.status, kept, reply.body)
