"""A run's workers, and one call placed: each worker takes calls in order; a call's
``cooldown:`` is asked first, then the journal's durable started line and its message's
registration come before the first byte, then its attempts.

Every attempt waits for a slot of the run-wide rate limiter; an attempt that certainly
did not reach the API (connection refused, 429, 503) is retried with exponential
backoff, jitter and ``Retry-After`` while the run's retry budget lasts; any answer that
may mean the call was placed ends the call, never to be resent automatically.  One
call's attempts, its journal lines and the stop checks between them read as one
sequence here: that order keeps a phone from ringing twice.
"""

from __future__ import annotations

import queue
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from callspec.delivery.rate import backoff
from callspec.delivery.request import api_url_for, build_request
from callspec.delivery.stops import INTERRUPTED, Halt
from callspec.results import Attempt, CallResult, Outcome, result_of

if TYPE_CHECKING:
    from callspec.delivery.classify import AttemptResult
    from callspec.delivery.credentials import Credentials
    from callspec.delivery.runner import Runner
    from callspec.delivery.service import Registration
    from callspec.net.session import Client
    from callspec.spec.plan import CallPlan


def work(runner: Runner, todo: queue.SimpleQueue[int]) -> None:
    """One worker: take the next call of ``todo`` until none is left or the run stops."""
    # requests loads here, after the plan is built: its modules then reuse the memory
    # the spec's document left, instead of adding to the peak (and a dry run never
    # loads it).
    from callspec.net.session import Client

    session: Client | None = None
    try:
        while not runner.stop.is_set():
            try:
                index = todo.get_nowait()
            except queue.Empty:
                return
            if session is None:  # a worker that finds no call opens nothing
                session = Client(runner.environ)
            call = runner.plan.calls[index]
            try:
                result = send(runner, session, index)
            except Exception as e:  # a bug: the call may or may not have left
                error = f"internal error: {type(e).__name__}: {e}; the call may have been placed"
                result = result_of(call, "unknown", error=error)
            runner._finish(index, result)
    finally:
        if session is not None:
            session.close()


def send(runner: Runner, session: Client, index: int) -> CallResult:
    """One call: its cooldown asked first (when it has one), then placed."""
    call = runner.plan.calls[index]
    if call.cooldown is None:
        return place(runner, session, index)
    recent, unread = cooldown(runner, call, runner.creds[index])
    if recent is not None:
        return recent
    result = place(runner, session, index)
    return replace(result, cooldown_unchecked=unread) if unread else result


def place(runner: Runner, session: Client, index: int) -> CallResult:
    """One call: its attempts, retried only while each surely placed nothing."""
    from callspec.delivery.http import send_once

    o = runner.options
    call, creds = runner.plan.calls[index], runner.creds[index]
    request = build_request(call, api_url_for(call, o.api_url), creds.auth_id)
    page: Registration | None = None
    if call.message is not None and runner.services is not None:
        page = runner.services.new(call, creds)  # journaled before it is registered
        request = replace(request, body={**request.body, "answer_url": page.answer_url})
    attempts: list[Attempt] = []
    last: AttemptResult | None = None
    gave_up = ""
    for number in range(o.retries + 1):
        if not runner.limiter.acquire(runner.stop):
            break
        if number == 0:
            early = before_send(runner, call, index, request.body, page)
            if early is not None:
                return early
        runner.limiter.pace(runner.stop)
        last = send_once(session, request, creds, o.timeouts, runner.redactor.text)
        attempts.append(last.attempt)
        if last.verdict != "retry" or number == o.retries:
            break
        delay = backoff(number, last.attempt.retry_after, o.backoff, o.backoff_cap, runner._random)
        if not runner.budget.take(delay):
            gave_up = (
                f"the run's retry waiting would pass --max-retry-wait {o.max_retry_wait:g} s; "
            )
            break
        if runner.stop.wait(delay):
            break
    if last is None or (last.verdict == "retry" and runner.stop.is_set() and not gave_up):
        if runner.halt is not None:
            reason = runner.halt.unsent
        else:
            reason = INTERRUPTED if last is None else "interrupted before a retry"
        return result_of(call, "skipped", reason, attempts=tuple(attempts), skip_kind="halt")
    outcome: Outcome = "failed" if last.verdict == "retry" else last.verdict
    error = last.error
    if last.verdict == "retry":
        tries = f"{len(attempts)} attempt{'s' if len(attempts) != 1 else ''}"
        error = f"gave up after {tries}: {gave_up}{last.error}"
    if last.request_uuid and outcome in ("fired", "queued"):
        # Answers from the API are untrusted: a request_uuid seen before is another call's.
        untrusted = runner.ledger.claim(last.request_uuid, call.name)
        if untrusted is not None:
            outcome, error = "unknown", untrusted
    return replace(
        paged(result_of(call, outcome, attempts=tuple(attempts), error=error), page),
        body=request.body,
        status=last.attempt.status,
        request_uuid=last.request_uuid,
        api_id=last.api_id,
        message=last.message,
    )


def cooldown(
    runner: Runner, call: CallPlan, creds: Credentials
) -> tuple[CallResult | None, str | None]:
    """``cooldown:``: the call's result when Plivo shows its destination called from its
    caller ID within the window by another run (skipped, never placed), else None; and
    why the lists could not be read, when they could not (the call is placed)."""
    from datetime import datetime, timezone

    from callspec.delivery.cooldown import Cooldown
    from callspec.delivery.reads import Reader

    assert call.cooldown is not None
    options = runner.options.wait or runner.options.follow
    reader = Reader(options, runner.environ, runner.redactor.text, runner.stop, runner.read_limiter)
    try:
        api_url = api_url_for(call, runner.options.api_url)
        now = datetime.now(timezone.utc)
        why, note = Cooldown(reader, runner.ledger.seen).check(
            api_url, creds, call.body, call.cooldown, now
        )
    finally:
        reader.close()
    if note is not None:
        runner.note(f"callspec: {call.spec_file}:{call.name}: {note}")
    if why is None:
        return None, note
    return result_of(call, "skipped", why, skip_kind="cooldown"), None


def before_send(
    runner: Runner,
    call: CallPlan,
    index: int,
    body: Mapping[str, Any],
    page: Registration | None,
) -> CallResult | None:
    """Before the first byte: the journal's durable started line (with the registration
    of a message, and the body as sent), then the message registered with its answer
    service.  A result when the call must not go out: the journal failed (skipped, the
    run stops), or the service did not take the message (failed: surely not placed)."""
    if runner.journal is not None:
        try:
            registration = page.id if page is not None else None
            runner.journal.started(call, runner.targets[index], registration, body)
        except OSError as e:
            halt = runner._halt(Halt.journal(runner.options.journal, e))
            return result_of(call, "skipped", halt.unsent, skip_kind="halt")
    if page is None or runner.services is None:
        return None
    refused = runner.services.register(call, runner.creds[index], page, runner.options.retries + 1)
    if refused is None:
        return None
    return replace(paged(result_of(call, "failed", error=refused), page), body=body)


def paged(result: CallResult, page: Registration | None) -> CallResult:
    """``result`` of a call with ``message:``, with the service and registration it used."""
    if page is None:
        return result
    return replace(result, service=page.service, registration=page.id)
