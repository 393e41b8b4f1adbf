"""``--simulate``: each call the sandbox accepts is played as Plivo would play it.

This module owns a call's course after the API answered: queued (over the
CPS) until its second is free; ``ring_url``; then, by its outcome
(:mod:`callspec.sandbox.outcomes`), busy, rejected or unanswered (never
``answer_url``), or answered: ``answer_url`` (``fallback_url`` when it fails or
its XML is invalid), the answer judged by the rules ``callspec check`` applies
(:mod:`callspec.check.answer`: Content-Type, size cap; :mod:`callspec.check.plivo_xml`;
read into steps by :mod:`callspec.sandbox.documents`), ``<Redirect>`` followed,
``<GetDigits>`` played (an ``ack`` or ``wrong-key`` callee presses its key once, at
the first one, and its ``action`` is requested with ``Digits``; anyone else presses
nothing and the document goes on), machine detection, the call running for the simulated
duration (capped by ``time_limit``, cut short by the hangup API), and last
``hangup_url`` (``answer_url`` when none is given, as on Plivo) with Plivo's
hangup parameters.  Each call plays on a worker thread, never on the thread
answering the API; every step is a record line and a log line.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal, TextIO
from urllib.parse import urljoin

from callspec.sandbox import calls as causes
from callspec.sandbox.callbacks import call_params, fetch
from callspec.sandbox.calls import CallRegistry, Cause, SimCall
from callspec.sandbox.documents import Document, Hangup, Redirect, read_document
from callspec.sandbox.outcomes import AnswerPlan, Outcome, SimulationConfig

if TYPE_CHECKING:
    from callspec.net.fetch import Fetched

Record = Callable[..., None]
#: <Hangup reason=...> values that end a call as not answered.
_XML_HANGUPS = {"rejected": causes.XML_REJECTED, "busy": causes.XML_BUSY}
#: How a call ends when the next document cannot be had, or is not valid Plivo XML.
_UNREACHABLE = {"redirect": causes.REDIRECT_URL_ERROR, "digits": causes.ACTION_URL_ERROR}
_INVALID = {"redirect": causes.INVALID_REDIRECT_XML, "digits": causes.INVALID_ACTION_XML}


@dataclass(frozen=True)
class _Jump:
    """A step that leads to another document: a <Redirect>, or a key sent to an action."""

    kind: Literal["redirect", "digits"]
    url: str
    method: str
    params: dict[str, str]


class Simulator:
    """Plays every placed call on a pool of worker threads."""

    def __init__(
        self,
        config: SimulationConfig,
        auth_token: str,
        record: Record,
        log: TextIO | None,
        log_lock: threading.Lock,
        stopping: threading.Event,
    ) -> None:
        self.config = config
        self.registry = CallRegistry()
        self._token = auth_token
        self._record = record
        self._log, self._log_lock = log, log_lock
        self._plan = AnswerPlan(config)
        self._stopping = stopping
        self._pool = ThreadPoolExecutor(config.workers, thread_name_prefix="simulate")

    def place(
        self, auth_id: str, body: dict[str, Any], uuids: list[str], queued: bool
    ) -> Callable[[], None]:
        """Register one call per destination (its state is readable at once); returns what
        starts playing them, for after the API's answer has been written."""
        destinations = str(body.get("to", "")).split("<")
        placed: list[tuple[SimCall, Outcome]] = []
        for to, call_uuid in zip(destinations, uuids, strict=False):
            call = SimCall(call_uuid, auth_id, to, body, "queued" if queued else "ringing")
            self.registry.add(call)
            placed.append((call, self._plan.outcome(to)))

        def play() -> None:
            for call, outcome in placed:
                try:
                    self._pool.submit(self._play_safely, call, outcome, queued)
                except RuntimeError:  # the sandbox is stopping: the call never rings
                    self.registry.end(call, causes.CANCELED)
                    self.registry.played(call)

        return play

    def wait(self, timeout: float) -> bool:
        """Until every call has ended; True when they have."""
        return self.registry.wait_all_ended(timeout)

    def stop(self) -> None:
        """Hang up every live call (cause: sandbox stopped) and let the workers finish.

        Bounded: no call starts once this begins (one the API accepts meanwhile ends as
        canceled, not played for its duration), a hung-up call stops waiting at once, and
        each request left (hangup callbacks) ends by its deadline, however slowly a
        handler answers.
        """
        self._pool.shutdown(wait=False, cancel_futures=False)  # no call starts from now on
        self.registry.hang_up_all()  # every call that has, or is queued, ends
        self._pool.shutdown(wait=True)

    # One call.

    def _play_safely(self, call: SimCall, outcome: Outcome, queued: bool) -> None:
        try:
            self._play(call, outcome, queued)
        except Exception as e:  # a bug must not leave a call live forever
            self._step(call, "error", None, None, f"simulation failed: {type(e).__name__}: {e}")
            self.registry.end(call, causes.SANDBOX_STOPPED)
        finally:
            self.registry.played(call)

    def _play(self, call: SimCall, outcome: Outcome, queued: bool) -> None:
        body = call.body
        # Over the CPS: placed when the next second begins.
        if queued and self._wait(call, 1.0 - (time.time() % 1.0)):
            return self._hang_up(call, causes.CANCELED)
        if outcome == "busy":
            return self._hang_up(call, causes.BUSY)
        self.registry.move(call, "ringing")
        if body.get("ring_url"):
            self._callback(call, "ring", "ring_url", "ring_method", call_params(call, "Ring"))
        if outcome in ("no-answer", "rejected"):
            ring_s = self.config.duration_s if outcome == "no-answer" else 0.0
            ring_s = min(ring_s, float(body.get("ring_timeout") or 120))
            if self._wait(call, ring_s):
                return self._hang_up(call, causes.CANCELED)
            unanswered = causes.NO_ANSWER if outcome == "no-answer" else causes.REJECTED
            return self._hang_up(call, unanswered)
        self.registry.move(call, "in-progress")
        machine = _machine(body, outcome)
        cause, xml_hangs_up = self._run_xml(call, outcome)
        # Plivo detects a machine from the answer on, beside the XML: under
        # machine_detection: hangup a machine's call ends as Machine Detected even when its
        # answer URL failed or its XML ended it.
        if machine is not None and (cause is None or (machine and _md(body) == "hangup")):
            cause = self._detect(call, machine) or cause
        if cause is None:
            cause = self._talk(call, xml_hangs_up)
        self._hang_up(call, cause, machine)

    def _run_xml(self, call: SimCall, outcome: Outcome) -> tuple[Cause | None, bool]:
        """answer_url (fallback_url), then each <Redirect> and <GetDigits> action: the cause
        when the XML ends the call, and whether it ends with a plain <Hangup/>."""
        document, cause, source = self._answer(call, call_params(call, "StartApp"))
        if cause is not None or document is None:
            return cause, False
        key = self._plan.key(call.to, outcome)  # pressed once, at the first <GetDigits>
        hops = 0
        while not document.empty:
            jump, key, end = self._steps(call, document, source, key)
            if jump is None:
                return end
            if call.hangup.is_set():
                return None, False
            hops += 1
            if hops > self.config.max_redirects:
                limit = f"more than {self.config.max_redirects} <Redirect>s and actions"
                self._step(call, jump.kind, None, None, limit)
                return causes.INVALID_REDIRECT_XML, False
            fetched = self._request(call, jump.kind, jump.url, jump.method, jump.params)
            if not fetched.ok:
                return _UNREACHABLE[jump.kind], False
            source = fetched.final_url
            document, problem = self._read(fetched)
            if document is None:
                self._step(call, f"{jump.kind}-xml", jump.url, fetched.status, problem)
                return _INVALID[jump.kind], False
        return causes.END_OF_XML, False

    def _steps(
        self, call: SimCall, document: Document, source: str, key: str | None
    ) -> tuple[_Jump | None, str | None, tuple[Cause | None, bool]]:
        """Play a document's steps: the step that leads to another document (if any), the
        key still to press, and else how the document ends the call (as ``_run_xml``)."""
        for step in document.steps:
            if call.hangup.is_set():
                return None, key, (None, False)
            if isinstance(step, Hangup):
                ends = _XML_HANGUPS.get(step.reason)
                return None, key, (ends, False) if ends else (None, True)
            if isinstance(step, Redirect):
                url, params = urljoin(source, step.url), call_params(call, "Redirect")
                return _Jump("redirect", url, step.method, params), key, (None, False)
            if key is None or not step.action:
                continue  # no key: Plivo goes on to the next element when the wait ends
            self._step(call, "key", None, None, f"pressed {key}")
            params = {**call_params(call, "StartApp"), "Digits": key}
            del params["Event"]  # an action request is not the answer's StartApp
            jump = _Jump("digits", urljoin(source, step.action), step.method, params)
            if step.redirect:
                return jump, None, (None, False)
            self._request(call, jump.kind, jump.url, jump.method, jump.params)  # then goes on
            key = None
        return None, key, (None, False)  # the document ran to its end

    def _answer(
        self, call: SimCall, params: dict[str, str]
    ) -> tuple[Document | None, Cause | None, str]:
        """The answer URL's document (else the fallback URL's), or the cause that ends the
        call; and the URL the document came from."""
        body = call.body
        answered = self._callback(call, "answer", "answer_url", "answer_method", params)
        source = answered.final_url
        document, problem = self._read(answered) if answered.ok else (None, None)
        if problem is not None:
            self._step(call, "answer-xml", answered.final_url, answered.status, problem)
        if document is None and body.get("fallback_url"):
            fallback = self._callback(call, "fallback", "fallback_url", "fallback_method", params)
            if fallback.ok:
                source = fallback.final_url
                document, fallback_problem = self._read(fallback)
                if fallback_problem is not None:
                    status = fallback.status
                    self._step(call, "fallback-xml", fallback.final_url, status, fallback_problem)
                    problem = problem or fallback_problem
        if document is None:
            cause = causes.INVALID_ANSWER_XML if problem else causes.ANSWER_URL_ERROR
            return None, cause, source
        return document, None, source

    def _read(self, fetched: Fetched) -> tuple[Document | None, str | None]:
        """The document, or what is wrong with it (:func:`read_document`)."""
        return read_document(fetched.body, fetched.content_type)

    def _detect(self, call: SimCall, machine: bool) -> Cause | None:
        body = call.body
        if body.get("machine_detection_url"):
            params = call_params(call, "MachineDetection")
            params["Machine"] = "true" if machine else "false"
            params["IfMachine"] = "hangup" if _md(body) == "hangup" else "continue"
            self._callback(
                call, "machine", "machine_detection_url", "machine_detection_method", params
            )
        if machine and _md(body) == "hangup":
            return causes.MACHINE
        return None

    def _talk(self, call: SimCall, xml_hangs_up: bool) -> Cause:
        """The call runs its duration, or up to its time_limit (counted from the answer)."""
        limit = float(call.body.get("time_limit") or 14_400)
        assert call.answered is not None
        elapsed = (datetime.now(timezone.utc) - call.answered).total_seconds()
        capped = limit < self.config.duration_s
        if self._wait(call, min(limit, self.config.duration_s) - elapsed):
            return causes.NORMAL_API if not self._stopping.is_set() else causes.SANDBOX_STOPPED
        if capped:
            return causes.TIME_LIMIT
        return causes.NORMAL_XML if xml_hangs_up else causes.END_OF_XML

    def _hang_up(self, call: SimCall, cause: Cause, machine: bool | None = None) -> None:
        if cause in (causes.CANCELED, causes.NORMAL_API) and self._stopping.is_set():
            cause = causes.SANDBOX_STOPPED if call.answered else causes.CANCELED
        if not self.registry.end(call, cause, machine):
            return
        self._step(call, "end", None, None, f"{cause.name} ({cause.code}, {cause.source})")
        params = call_params(call, "Hangup")
        if machine is not None:
            params["Machine"] = "true" if machine else "false"
        url_key = "hangup_url" if call.body.get("hangup_url") else "answer_url"
        self._callback(call, "hangup", url_key, "hangup_method", params)

    # Requests and records.

    def _callback(
        self, call: SimCall, step: str, url_key: str, method_key: str, params: dict[str, str]
    ) -> Fetched:
        url = str(call.body.get(url_key, ""))
        method = str(call.body.get(method_key) or "POST")
        return self._request(call, step, url, method, params)

    def _request(
        self, call: SimCall, step: str, url: str, method: str, params: dict[str, str]
    ) -> Fetched:
        fetched = fetch(url, method, params, self._token, self.config)
        note = fetched.problem or "ok"
        self._step(
            call,
            step,
            fetched.final_url,
            fetched.status,
            note,
            fetched.final_method,
            fetched.elapsed_ms,
        )
        return fetched

    def _step(
        self,
        call: SimCall,
        step: str,
        url: str | None,
        status: int | None,
        note: str | None,
        method: str | None = None,
        ms: float | None = None,
    ) -> None:
        self._record(
            simulated=step,
            call_uuid=call.call_uuid,
            to=call.to,
            url=url,
            method=method,
            status=status,
            note=note,
            ms=None if ms is None else round(ms, 1),
        )
        if self._log is None:
            return
        stamp = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
        shown = str(status) if status is not None else "-" if url else ""
        parts = [stamp, "simulate", call.call_uuid, step, method or "", url or "", shown]
        line = " ".join(p for p in parts if p) + f" {note or ''}"
        if ms is not None:
            line += f" {ms:.1f}ms"
        if self._token:
            line = line.replace(self._token, "***")
        with self._log_lock:
            self._log.write(line.replace("\n", " ") + "\n")
            self._log.flush()

    def _wait(self, call: SimCall, seconds: float) -> bool:
        """Sleep ``seconds``; True when the call was hung up meanwhile."""
        return call.hangup.wait(max(0.0, seconds))


def _md(body: dict[str, Any]) -> str | None:
    value = body.get("machine_detection")
    if value is None or value is False or str(value).lower() == "false":
        return None
    return str(value).lower()


def _machine(body: dict[str, Any], outcome: Outcome) -> bool | None:
    """True/False when machine detection is on (who answered), None when it is off."""
    return None if _md(body) is None else outcome == "machine"
