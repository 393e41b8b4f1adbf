"""Unit tests of the delivery stage's pieces: classification, Retry-After, the rate
limiter (on a pinned clock), backoff, the circuit breaker, the retry budget and the
journal reader's state machine.  The end-to-end tests beside this file prove the
same pieces against real servers; these pin each rule alone.
"""

from __future__ import annotations

import email.utils
import itertools
import json
import random
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from callspec.delivery.classify import classify, retry_after_seconds
from callspec.delivery.entries import read_journal
from callspec.delivery.rate import MAX_RETRY_AFTER, RateLimiter, backoff
from callspec.delivery.stops import CircuitBreaker, RetryBudget
from callspec.errors import SpecError
from callspec.results import Attempt, CallResult

T0 = "2026-01-01T00:00:00.000Z"


def answer(status: int, payload: Any = None, headers: dict[str, str] | None = None) -> Any:
    content = json.dumps(payload).encode() if payload is not None else b""
    return classify(status, content, headers or {}, T0, 1.0)


# --- classify ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "payload", "verdict", "maybe_sent"),
    [
        (201, {"message": "call fired", "request_uuid": "u"}, "fired", True),
        (201, {"message": "calls fired", "request_uuid": ["a", "b"]}, "fired", True),
        (200, {"message": "call queued"}, "queued", True),
        (201, {"message": "async api spawned"}, "queued", True),
        (429, {"error": "too many"}, "retry", False),
        (503, {"error": "unavailable"}, "retry", False),
        (500, {"error": "oops"}, "unknown", True),
        (502, None, "unknown", True),
        (504, None, "unknown", True),
        (400, {"error": "invalid to"}, "failed", False),
        (401, {"error": "auth"}, "failed", False),
        (404, None, "failed", False),
        (302, None, "failed", False),
    ],
)
def test_classify_every_kind_of_answer(
    status: int, payload: Any, verdict: str, maybe_sent: bool
) -> None:
    result = answer(status, payload)
    assert result.verdict == verdict
    assert result.attempt.maybe_sent is maybe_sent
    assert result.attempt.status == status


def test_classify_words_what_may_have_been_placed() -> None:
    assert answer(500, {"error": "oops"}).error == ("HTTP 500: oops; the call may have been placed")
    assert answer(400, {"error": "invalid to"}).error == "invalid to"  # as the API wrote it
    assert answer(400, {"error": "invalid to"}).attempt.detail == "invalid to"
    assert answer(429, {"error": "slow down"}).error == "HTTP 429: slow down"
    assert answer(201, {"message": "call fired"}).error is None


def test_classify_reads_retry_after_and_survives_odd_bodies() -> None:
    assert answer(429, {}, {"Retry-After": "2"}).attempt.retry_after == 2.0
    odd = classify(500, b"\xff not json", {}, T0, 1.0)
    assert odd.verdict == "unknown"
    assert classify(400, b"[1, 2]", {}, T0, 1.0).verdict == "failed"


def test_a_non_json_error_body_is_masked_before_it_is_shortened() -> None:
    secret = "s3cr3t-token-value"
    body = ("x" * 195 + secret + "y" * 300).encode()
    result = classify(400, body, {}, T0, 1.0, lambda text: text.replace(secret, "***"))
    assert result.error is not None
    assert result.error.startswith("x" * 195 + "***")
    assert secret[:4] not in result.error


# --- Retry-After ----------------------------------------------------------------------------


def test_retry_after_seconds() -> None:
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("") is None
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds("-5") == 0.0
    assert retry_after_seconds("1e999") is None  # never an infinite wait (or report value)
    assert retry_after_seconds("nan") is None
    assert retry_after_seconds("soon") is None
    future = email.utils.formatdate(time.time() + 30, usegmt=True)
    seconds = retry_after_seconds(future)
    assert seconds is not None and 25 <= seconds <= 31
    assert retry_after_seconds(email.utils.formatdate(time.time() - 30, usegmt=True)) == 0.0


# --- the rate limiter, on a pinned clock ------------------------------------------------------


class FakeTime:
    """A clock that moves only when someone waits."""

    def __init__(self) -> None:
        self.now = 100.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class FakeStop(threading.Event):
    def __init__(self, fake: FakeTime) -> None:
        super().__init__()
        self.fake = fake

    def wait(self, timeout: float | None = None) -> bool:
        if timeout:
            self.fake.sleep(timeout)
        return self.is_set()


def test_rate_limiter_spaces_every_slot_evenly() -> None:
    fake = FakeTime()
    limiter = RateLimiter(4.0, fake.clock, fake.sleep)
    stop = FakeStop(fake)
    starts = []
    for _ in range(6):
        assert limiter.acquire(stop)
        starts.append(fake.now)
    assert [round(b - a, 9) for a, b in itertools.pairwise(starts)] == [0.25] * 5


def test_rate_limiter_pace_keeps_real_sends_one_interval_apart() -> None:
    fake = FakeTime()
    limiter = RateLimiter(10.0, fake.clock, fake.sleep)
    stop = FakeStop(fake)
    limiter.acquire(stop)
    fake.now += 0.08  # the journal's fsync took 80 ms before the first send
    limiter.pace(stop)
    first = fake.now
    limiter.acquire(stop)  # its slot is 100 ms after the first slot: 20 ms after the send
    limiter.pace(stop)
    assert fake.now - first == pytest.approx(0.1)


def test_rate_limiter_stops_waiting_when_stopped() -> None:
    fake = FakeTime()
    limiter = RateLimiter(1.0, fake.clock, fake.sleep)
    stop = FakeStop(fake)
    assert limiter.acquire(stop)
    stop.set()
    assert not limiter.acquire(stop)


# --- backoff -------------------------------------------------------------------------------------


def test_backoff_grows_with_jitter_and_honours_retry_after() -> None:
    rng = random.Random(7)
    for number in range(6):
        delay = backoff(number, None, 0.5, 20.0, rng)
        full = min(20.0, 0.5 * 2**number)
        assert full / 2 <= delay <= full
    assert backoff(0, 7.0, 0.5, 20.0, rng) == 7.0  # never sooner than Retry-After
    assert backoff(0, 3600.0, 0.5, 20.0, rng) == MAX_RETRY_AFTER  # capped


# --- the circuit breaker and the retry budget -------------------------------------------------


def result(outcome: str, status: int | None = None, kind: str | None = None) -> CallResult:
    attempt = Attempt(T0, 1.0, status, "e", True, error_kind=kind)  # type: ignore[arg-type]
    return CallResult("k", "a.yaml", 1, "n", (), (), {}, outcome, (attempt,))  # type: ignore[arg-type]


def test_circuit_breaker_counts_calls_with_no_certain_answer() -> None:
    breaker = CircuitBreaker(3)
    assert not breaker.record(result("unknown", kind="timeout"))
    assert not breaker.record(result("failed", kind="connect"))
    assert breaker.record(result("failed", 503))  # 5xx after the retries: no answer
    assert breaker.record(result("unknown", 500))  # still tripped past the count


def test_circuit_breaker_resets_on_an_answer_and_ignores_unbuilt_requests() -> None:
    breaker = CircuitBreaker(2)
    breaker.record(result("unknown"))
    assert not breaker.record(result("failed", 400))  # a 4xx: the API is alive
    assert not breaker.record(result("unknown"))
    assert not breaker.record(result("fired", 201))
    assert not breaker.record(result("failed", kind="build"))  # says nothing of the API
    assert not breaker.record(result("unknown"))
    assert not CircuitBreaker(0).record(result("unknown"))  # 0: never


def test_retry_budget_books_until_it_would_pass() -> None:
    budget = RetryBudget(1.5)
    assert budget.take(1.0)
    assert not budget.take(1.0)  # would pass 1.5: nothing booked
    assert budget.take(0.5)
    assert not budget.take(0.01)


# --- the journal reader's state machine ---------------------------------------------------------


def lines(path: Path, *events: dict[str, Any]) -> Path:
    path.write_text(
        "".join(
            json.dumps({"run_id": "r1", "name": "n", "spec_file": "a.yaml", **e}) + "\n"
            for e in events
        )
    )
    return path


def test_journal_states_once_placed_stay_placed(tmp_path: Path) -> None:
    journal = lines(
        tmp_path / "j.jsonl",
        {"event": "started", "key": "a"},
        {"event": "finished", "key": "a", "outcome": "fired", "request_uuid": "u1"},
        # a later run skipping it (or calling it unknown) changes nothing
        {"event": "finished", "key": "a", "outcome": "skipped", "run_id": "r2"},
        {"event": "started", "key": "b"},  # started, never finished: unknown on resume
        {"event": "finished", "key": "c", "outcome": "failed"},
        {"event": "started", "key": "c", "run_id": "r3"},  # a failed call sent again
        {"event": "finished", "key": "c", "outcome": "queued", "run_id": "r3"},
    )
    entries = read_journal(journal)
    assert (entries["a"].state, entries["a"].run_id, entries["a"].request_uuid) == (
        "fired",
        "r1",
        "u1",
    )
    assert entries["b"].state == "started"
    assert (entries["c"].state, entries["c"].run_id) == ("queued", "r3")


def test_journal_reader_drops_only_a_cut_last_line(tmp_path: Path) -> None:
    journal = tmp_path / "j.jsonl"
    good = json.dumps(
        {"event": "started", "key": "a", "run_id": "r", "name": "n", "spec_file": "f"}
    )
    journal.write_text(good + "\n" + good[:20])  # a crash cut the last line
    assert list(read_journal(journal)) == ["a"]
    journal.write_text(good[:20] + "\n" + good + "\n")  # a broken line in the middle
    with pytest.raises(SpecError, match="not a callspec journal line"):
        read_journal(journal)
