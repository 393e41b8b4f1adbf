"""Checking a plan's URLs: which to request, requesting each distinct one once, and verdicts.

Owns the choice of URLs (``answer_url`` and ``fallback_url`` always; the callback URLs
only when asked, since a handler may act on what it receives), the de-duplication by
(URL, method), each request as Plivo makes it (:func:`callspec.net.fetch.fetch`: its
parameters, the ``X-Callspec-Check: 1`` header, at most 3 HTTP redirects, a time and
size budget; never a credential from the environment), the whole check's deadline
(``--check-deadline``: a URL not done by then fails), the verdict of each answer (2xx,
valid Plivo XML for the XML kinds), following each document's ``<Redirect>`` as Plivo
would (a loop is named), and turning failures into located
:class:`~callspec.errors.Problem` s.  What a checked server said reaches a check only
through :func:`callspec.text.outside` with the run's redactor.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from callspec import defaults
from callspec.check.answer import MAX_XML_BYTES, content_type_problem
from callspec.check.model import CALLBACK_KINDS, XML_KINDS, CallRef, UrlCheck, UrlKind
from callspec.check.params import Event, call_params
from callspec.check.plivo_xml import check_document, redirects
from callspec.errors import Location, Problem
from callspec.spec.model import CallPlan
from callspec.text import outside

if TYPE_CHECKING:
    from callspec.net.fetch import Fetched

CHECK_HEADER = "X-Callspec-Check"
USER_AGENT = "callspec-check"
#: What each check request sends besides Plivo's parameters (no compressed answers: the
#: size cap is of what the server sends).
_HEADERS = {CHECK_HEADER: "1", "User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
DEFAULT_TIMEOUT = defaults.CHECK_TIMEOUT
#: The whole check, every URL together (40 silent URLs would take 40 x the timeout / the
#: workers without it).
DEFAULT_DEADLINE = defaults.CHECK_DEADLINE
DEFAULT_MAX_BYTES = 1_048_576
MAX_REDIRECTS = 3

_METHOD_OF: dict[UrlKind, str] = {
    "answer_url": "answer_method",
    "fallback_url": "fallback_method",
    "ring_url": "ring_method",
    "hangup_url": "hangup_method",
    "machine_detection_url": "machine_detection_method",
    "callback_url": "callback_method",
}
_EVENT_OF: dict[UrlKind, Event] = {
    "answer_url": "answer",
    "fallback_url": "answer",
    "redirect": "redirect",
    "ring_url": "ring",
    "hangup_url": "hangup",
    "machine_detection_url": "machine_detection",
    "callback_url": "callback",
}
_STOPPED = "not checked: interrupted"
#: How many <Redirect> documents one run follows at most, all chains together.
MAX_XML_REDIRECTS = 20


@dataclass(frozen=True)
class CheckOptions:
    """How to check: which URLs, each request's budget (an XML document's size is
    capped at Plivo's limit too, :data:`~callspec.check.answer.MAX_XML_BYTES`), and the
    whole check's deadline (seconds)."""

    callbacks: bool = False
    timeout: float = DEFAULT_TIMEOUT
    max_bytes: int = DEFAULT_MAX_BYTES
    deadline: float = DEFAULT_DEADLINE

    def cap(self, kind: UrlKind) -> int:
        """The most of a ``kind`` URL's body that is read."""
        return min(self.max_bytes, MAX_XML_BYTES) if kind in XML_KINDS else self.max_bytes

    concurrency: int = 4


@dataclass(frozen=True)
class _Target:
    kind: UrlKind
    url: str
    method: str
    calls: tuple[CallRef, ...]
    params: Mapping[str, str]
    via: str | None = None


def targets(calls: Iterable[CallPlan], options: CheckOptions) -> list[_Target]:
    """Each distinct (URL, method) to check, with the calls that use it, in plan order."""
    kinds: tuple[UrlKind, ...] = ("answer_url", "fallback_url")
    if options.callbacks:
        kinds += CALLBACK_KINDS
    found: dict[tuple[str, str], _Target] = {}
    for call in calls:
        ref = CallRef(call.spec_file, call.line, call.index, call.name, call)
        for kind in kinds:
            url = call.body.get(kind)
            if not isinstance(url, str) or not url:
                continue
            method = str(call.body.get(_METHOD_OF[kind]) or "POST").upper()
            key = (url, method)
            if key in found:
                old = found[key]
                found[key] = replace(old, calls=(*old.calls, ref))
            else:
                params = call_params(call.body, _EVENT_OF[kind])
                found[key] = _Target(kind, url, method, (ref,), params)
    return list(found.values())


def _cap_name(options: CheckOptions, kind: UrlKind) -> str:
    plivo = kind in XML_KINDS and options.cap(kind) == MAX_XML_BYTES
    return "Plivo's limit for an XML document" if plivo else "the size cap"


def _judge(target: _Target, got: Fetched, max_bytes: int, redact: Callable[[str], str]) -> UrlCheck:
    def clean(text: str | None) -> str | None:
        return None if text is None else outside(text, redact)

    check = UrlCheck(
        kind=target.kind,
        url=target.url,
        method=target.method,
        calls=target.calls,
        status=got.status,
        content_type=clean(got.content_type),
        elapsed_ms=got.elapsed_ms,
        hops=tuple(outside(hop, redact, None) for hop in got.hops),
        error=clean(got.error),
        via=target.via,
    )
    if got.error is not None or got.status is None:
        return check
    if not 200 <= got.status < 300:
        return replace(check, error=f"HTTP {got.status}")
    if target.kind not in XML_KINDS:
        return check
    wrong_type = content_type_problem(check.content_type)
    if wrong_type is not None:
        return replace(check, error=wrong_type)
    problems = check_document(got.body, max_bytes=max_bytes, url=target.url)
    return replace(check, xml="invalid" if problems else "valid", problems=problems)


def check_plan(
    calls: Iterable[CallPlan],
    options: CheckOptions,
    environ: Mapping[str, str],
    redact: Callable[[str], str],
    on_result: Callable[[UrlCheck], None] | None = None,
    stop: threading.Event | None = None,
) -> tuple[UrlCheck, ...]:
    """Check every URL of ``calls``; the <Redirect> targets of valid documents too.

    ``environ`` gives the proxy and CA settings; ``redact`` is the run's masking (what a
    server said is masked, then cut, then escaped).  Once ``stop`` is set (Ctrl-C in
    ``run --check``) no further request starts; once ``options.deadline`` has passed,
    none does either, and each URL not done fails.
    """
    from callspec.net.fetch import Fetched, fetch  # the HTTP stack loads only to check

    end = time.monotonic() + options.deadline
    late = f"not done within the check's deadline of {options.deadline:g} s (--check-deadline)"

    def one(target: _Target) -> tuple[UrlCheck, bytes]:
        cap = options.cap(target.kind)
        if stop is not None and stop.is_set():
            return _judge(
                target, Fetched(target.url, target.method, error=_STOPPED), 0, redact
            ), b""
        left = end - time.monotonic()
        if left <= 0:
            return _judge(target, Fetched(target.url, target.method, error=late), 0, redact), b""
        budget = min(options.timeout, left)
        got = fetch(
            target.url,
            target.method,
            target.params,
            environ=environ,
            timeout=budget,
            max_bytes=cap,
            max_redirects=MAX_REDIRECTS,
            headers=_HEADERS,
            cap_name=_cap_name(options, target.kind),
        )
        timed_out = got.reason is not None and got.reason.kind in ("deadline", "timeout")
        if timed_out and budget < options.timeout:  # the whole check's deadline cut it
            got = replace(got, error=late)
        return _judge(target, got, cap, redact), got.body

    pending = targets(calls, options)
    seen = {(t.url, t.method) for t in pending}
    results: list[UrlCheck] = []
    bodies: dict[tuple[str, str], bytes] = {}
    followed = 0
    with ThreadPoolExecutor(max_workers=max(1, options.concurrency)) as pool:
        while pending:
            batch, pending = pending, []
            for target, (check, body) in zip(batch, pool.map(one, batch), strict=True):
                results.append(check)
                if on_result is not None:
                    on_result(check)
                if check.xml != "valid":
                    continue
                bodies[(check.url, check.method)] = body
                for url, method in redirects(body, max_bytes=MAX_XML_BYTES):
                    if (url, method) in seen or followed >= MAX_XML_REDIRECTS:
                        continue
                    seen.add((url, method))
                    followed += 1
                    params = {**target.params, "Event": "Redirect"}
                    pending.append(
                        _Target("redirect", url, method, target.calls, params, check.url)
                    )
    return _mark_loops(results, bodies, MAX_XML_BYTES)


def _mark_loops(
    results: list[UrlCheck], bodies: Mapping[tuple[str, str], bytes], max_bytes: int
) -> tuple[UrlCheck, ...]:
    """Name each <Redirect> cycle among the documents fetched (A -> B -> A) on its first URL."""
    edges: dict[tuple[str, str], list[tuple[str, str]]] = {
        key: list(redirects(body, max_bytes=max_bytes)) for key, body in bodies.items()
    }
    looped: dict[tuple[str, str], str] = {}
    for start in edges:
        path = [start]
        stack: list[tuple[tuple[str, str], list[tuple[str, str]]]] = [(start, path)]
        visited: set[tuple[str, str]] = set()
        while stack:
            node, trail = stack.pop()
            for nxt in edges.get(node, []):
                if nxt == start and len(trail) > 1:
                    chain = " -> ".join(u for u, _ in [*trail, nxt])
                    looped.setdefault(start, f"<Redirect> loop: {chain}")
                elif nxt not in visited and nxt in edges and nxt != start:
                    visited.add(nxt)
                    stack.append((nxt, [*trail, nxt]))
    seen_cycles: set[frozenset[str]] = set()
    out = []
    for check in results:
        message = looped.get((check.url, check.method))
        if message and check.error is None:
            members = frozenset(message.split(": ", 1)[1].split(" -> "))
            if members not in seen_cycles:
                seen_cycles.add(members)
                check = replace(check, error=message)
        out.append(check)
    return tuple(out)


def check_problems(checks: Iterable[UrlCheck]) -> list[Problem]:
    """One located problem per failure of each URL, at its value in the first call that
    uses it (the call, the spec's defaults or the profile that wrote it)."""
    from callspec.spec.calls import argument_location

    problems = []
    docs: dict[str, Any] = {}  # each spec file read again once, only for a failure
    for check in checks:
        if check.ok:
            continue
        first = check.calls[0]
        others = len(check.calls) - 1
        also = f" (and {others} more call{'s' if others != 1 else ''})" if others else ""
        where = Location(first.spec_file, first.line, 1)
        if first.plan is not None and check.kind != "redirect":
            where = argument_location(first.plan, check.kind, docs) or where
        kind = check.kind if check.kind != "redirect" else f"<Redirect> from {check.via}"
        path = f"calls[{first.index}].{check.kind}" if check.kind != "redirect" else ""
        label = f"{kind} {check.method} {check.url}"
        if check.error is not None:
            problems.append(Problem(where, path, f"{label}: {check.error}{also}"))
        for p in check.problems:
            problems.append(Problem(where, path, f"{label}:{p.line}:{p.column}: {p.message}{also}"))
    return problems


def document_of(check: UrlCheck) -> dict[str, Any]:
    """A check as plain JSON (the report's ``checks`` items); the caller masks secrets."""
    return {
        "kind": check.kind,
        "url": check.url,
        "method": check.method,
        "ok": check.ok,
        "reachable": check.reachable,
        "status": check.status,
        "content_type": check.content_type,
        "time_ms": round(check.elapsed_ms, 1),
        "redirects": list(check.hops),
        "error": check.error,
        "xml": check.xml,
        "xml_problems": [
            {"line": p.line, "column": p.column, "message": p.message} for p in check.problems
        ],
        "via": check.via,
        "calls": [{"spec_file": c.spec_file, "line": c.line, "name": c.name} for c in check.calls],
    }
