"""The service's routes: a WSGI application.

| route | who | what |
|---|---|---|
| ``GET /healthz`` | anyone | 200 when the store is the file opened and answers, else 503 |
| ``GET/POST /plivo/answer/{id}`` | Plivo (signed) | the prompt's XML; Plivo's hangup request too |
| ``GET/POST /plivo/digits/{id}`` | Plivo (signed) | records the key; what the caller hears next |
| ``PUT /v1/calls/{id}`` | the runner (channel) | registers a call's prompt |
| ``GET /v1/calls/{id}`` | the runner (channel) | the registration's state (:mod:`.status`) |

Nothing from a request is trusted: a body is read only up to :data:`MAX_BODY_BYTES`
by its ``Content-Length``, parameters are counted and bounded, an ID or CallUUID of
another shape is refused before any lookup, a request that is not signed (or
whose signature does not verify) gets 403 before anything is read or written,
an unknown ID 404, and an error of the service itself 500 with a generic body,
its words only in the (masked) log.  One JSON log line per request.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from callspec.serve import documents, status
from callspec.serve.auth import (
    UNSIGNED,
    PublicUrl,
    channel_verdict,
    plivo_problem,
    plivo_signed,
    replayed,
)
from callspec.serve.channel import SIGNATURE, channel_key, sign_answer
from callspec.serve.logs import Log
from callspec.serve.prompt import PromptError, from_json, valid_id
from callspec.serve.store import Record, Store

#: The largest body read: a registration of the longest message, in UTF-8, fits.
MAX_BODY_BYTES = 64 * 1024
#: Parameters of one Plivo request (Plivo sends about twenty, and X-PH- headers).
MAX_PARAMS = 100
_ROUTE = re.compile(r"/(plivo/answer|plivo/digits|v1/calls)/([^/]*)/?\Z")
_CALL_UUID = re.compile(r"[A-Za-z0-9-]{1,64}\Z")
_DIGITS = re.compile(r"[0-9*#]{0,32}\Z")
_XML = "text/xml; charset=utf-8"
_JSON = "application/json"

StartResponse = Callable[..., object]


@dataclass
class Reply:
    """A response, and what its log line says beside method, path and status."""

    status: int
    body: bytes
    content_type: str = _JSON
    headers: list[tuple[str, str]] = field(default_factory=list)
    note: dict[str, object] = field(default_factory=dict)


def _json(code: int, payload: Mapping[str, Any], **note: object) -> Reply:
    return Reply(code, json.dumps(payload).encode(), _JSON, note=dict(note))


def _error(code: int, text: str, **note: object) -> Reply:
    return _json(code, {"error": text}, **note)


def _xml(body: bytes, **note: object) -> Reply:
    return Reply(200, body, _XML, note=dict(note))


def _not_allowed(allow: str) -> Reply:
    reply = _error(405, f"use {allow}")
    reply.headers.append(("Allow", allow))
    return reply


class App:
    """The WSGI application over one store, for one account's auth token."""

    def __init__(
        self,
        store: Store,
        auth_token: str,
        public: PublicUrl,
        log: Log,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not auth_token:
            raise ValueError("the service needs the account's auth token")
        self.store = store
        self.public = public
        self._token = auth_token
        self._key = channel_key(auth_token)
        self._log = log
        self._clock = clock

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        method = str(environ.get("REQUEST_METHOD", ""))
        try:
            reply = self._handle(environ, method)
        except Exception as e:  # a bug or a broken store: never a traceback to the client
            reply = self._failed(environ, method, e)
        headers = [
            ("Content-Type", reply.content_type),
            ("Content-Length", str(len(reply.body))),
            ("Cache-Control", "no-store"),
            *reply.headers,
        ]
        phrase = HTTPStatus(reply.status).phrase
        start_response(f"{reply.status} {phrase}", headers)
        self._log.write(
            "request",
            method=method,
            path=self.public.route(environ),
            status=reply.status,
            ms=round((time.perf_counter() - started) * 1000, 1),
            client=environ.get("REMOTE_ADDR"),
            **reply.note,
        )
        return [b"" if method == "HEAD" else reply.body]

    def _failed(self, environ: dict[str, Any], method: str, error: Exception) -> Reply:
        """A generic 500 for a failure of the service itself; its words only in the log."""
        path = self.public.route(environ)
        self._log.write("error", method=method, path=path, error=f"{type(error).__name__}: {error}")
        return _error(500, "internal error")

    def _handle(self, environ: dict[str, Any], method: str) -> Reply:
        path = self.public.route(environ)
        if path == "/healthz":
            if method not in ("GET", "HEAD"):
                return _not_allowed("GET, HEAD")
            problem = self.store.health()
            if problem is not None:  # a balancer or platform takes it out, and the log says why
                return _json(503, {"status": "unhealthy", "reason": problem}, unhealthy=problem)
            return _json(200, {"status": "ok"})
        match = _ROUTE.match(path)
        if match is None or not valid_id(match[2]):
            return _error(404, "not found")
        kind, id = match[1], match[2]
        body = _body(environ)
        if isinstance(body, Reply):
            return body
        root = self.public.root(environ)
        if kind == "v1/calls":
            return self._channel(environ, method, root, id, body)
        return self._plivo(environ, method, root, kind, id, body)

    # Plivo's requests.

    def _plivo(
        self, environ: dict[str, Any], method: str, root: str, kind: str, id: str, body: bytes
    ) -> Reply:
        if method not in ("GET", "POST"):
            return _not_allowed("GET, POST")
        if not plivo_signed(environ):  # before the body is even parsed
            return _error(403, "forbidden", registration=id, refused=UNSIGNED)
        params = _params(environ, method, body)
        if isinstance(params, Reply):
            return params
        problem = plivo_problem(environ, self.public, method, params, self._token)
        if problem is not None:
            return _error(403, "forbidden", registration=id, refused=problem)
        record = self.store.record(id)
        if record is None:
            return _error(404, "not found", registration=id)
        call_uuid = params.get("CallUUID", "")
        if not _CALL_UUID.match(call_uuid):
            return _error(400, "CallUUID is missing or malformed", registration=id)
        note: dict[str, object] = {"registration": id, "call_uuid": call_uuid}
        action = f"{root}/plivo/digits/{id}"  # under the public base Plivo requested
        if kind == "plivo/answer":
            return self._answer(record, call_uuid, params, action, note)
        return self._digits(record, call_uuid, params, action, note)

    def _answer(
        self,
        record: Record,
        call_uuid: str,
        params: Mapping[str, str],
        action: str,
        note: dict[str, object],
    ) -> Reply:
        if params.get("Event") == "Hangup":
            self.store.ended(record.id, call_uuid)
            return _xml(documents.ended_document(), outcome="ended", **note)
        if record.prompt is None:
            return _error(410, "this registration's message has been erased", **note)
        if not self.store.answered(record.id, call_uuid):
            return _error(429, "too many calls for this registration", **note)
        return _xml(documents.prompt_document(record.prompt, action), outcome="answered", **note)

    def _digits(
        self,
        record: Record,
        call_uuid: str,
        params: Mapping[str, str],
        action: str,
        note: dict[str, object],
    ) -> Reply:
        prompt = record.prompt
        if prompt is None:
            return _error(410, "this registration's message has been erased", **note)
        digits = params.get("Digits", "")
        if not _DIGITS.match(digits):
            return _error(400, "Digits is malformed", **note)
        meaning, wrong = self.store.pressed(record.id, call_uuid, digits, record)
        note["outcome"] = {"wrong": "wrong-key", "none": "no-key"}.get(meaning, meaning)
        if meaning in ("acknowledged", "again"):
            return _xml(documents.acknowledged_document(prompt), **note)
        if meaning == "late":
            return _xml(documents.late_document(prompt), **note)
        if meaning == "wrong":
            return _xml(documents.wrong_key_document(prompt, action, wrong), **note)
        if meaning == "none":
            return _xml(documents.no_key_document(prompt), **note)
        return _error(429, "too many calls for this registration", **note)

    # The runner's requests.

    def _channel(
        self, environ: dict[str, Any], method: str, root: str, id: str, body: bytes
    ) -> Reply:
        if method not in ("GET", "PUT"):
            return _not_allowed("GET, PUT")
        verdict = channel_verdict(environ, self.public, self._key, body, self._clock())
        if not verdict.ok:
            return _error(403, "forbidden", registration=id, refused=verdict.reason)
        # From here the request is the runner's: its answer is signed, a failure of the
        # service's own (a full disk, a broken store) too, so the runner can tell the
        # service failed from an answer it must not believe.
        try:
            replay = replayed(verdict, self.store)
            if replay is not None:
                return _error(403, "forbidden", registration=id, refused=replay.reason)
            reply = self._register(root, id, body) if method == "PUT" else self._read(id)
        except Exception as e:
            reply = self._failed(environ, method, e)
        reply.note["registration"] = id
        signature = sign_answer(self._key, verdict.nonce, reply.status, reply.body)
        reply.headers.append((SIGNATURE, signature))
        return reply

    def _register(self, root: str, id: str, body: bytes) -> Reply:
        try:
            prompt = from_json(json.loads(body))
        except (ValueError, RecursionError) as e:  # JSON's errors are ValueErrors too
            text = str(e) if isinstance(e, PromptError) else "the body is not JSON"
            return _error(422, text, refused=text)
        outcome, expires = self.store.register(id, prompt)
        if outcome == "conflict":
            return _error(409, "another prompt is registered under this ID", outcome=outcome)
        if outcome == "full":
            return _error(507, "the store holds as many registrations as it may", outcome=outcome)
        answer = {
            "id": id,
            "answer_url": f"{root}/plivo/answer/{id}",
            "expires_at": status.iso(expires),
        }
        return _json(201 if outcome == "created" else 200, answer, outcome=outcome)

    def _read(self, id: str) -> Reply:
        record = self.store.record(id)
        if record is None:
            return _error(404, "not found")
        state = status.from_record(record)
        return _json(200, status.to_json(state), acknowledged=state.acknowledged)


def _body(environ: Mapping[str, Any]) -> bytes | Reply:
    """The request body by its Content-Length, at most :data:`MAX_BODY_BYTES`."""
    text = str(environ.get("CONTENT_LENGTH") or "0").strip()
    if not text.isascii() or not text.isdigit():
        return _error(400, "Content-Length must be a number of bytes")
    if len(text) > 9 or int(text) > MAX_BODY_BYTES:
        return _error(413, f"the body is larger than {MAX_BODY_BYTES} bytes")
    length = int(text)
    data: bytes = environ["wsgi.input"].read(length) if length else b""
    if len(data) < length:
        return _error(400, "the body ended before its Content-Length")
    return data


def _params(environ: Mapping[str, Any], method: str, body: bytes) -> dict[str, str] | Reply:
    """Plivo's parameters: the query of a GET, the form body of a POST; each name once."""
    if method == "GET":
        # WSGI hands the query as latin-1 text of the bytes sent.
        raw = str(environ.get("QUERY_STRING", "")).encode("latin-1", "replace")
    else:
        kind = str(environ.get("CONTENT_TYPE", "")).split(";")[0].strip().lower()
        if kind not in ("", "application/x-www-form-urlencoded"):
            return _error(415, "Plivo sends a form (application/x-www-form-urlencoded)")
        raw = body
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_PARAMS)
    except (UnicodeDecodeError, ValueError):
        return _error(400, "the parameters are not a form of at most 100 UTF-8 fields")
    params = dict(pairs)
    if len(params) != len(pairs):
        return _error(400, "a parameter is given twice")
    return params
