"""The runner's channel: what a signature covers, its time window, and the signed answer."""

from __future__ import annotations

import pytest

from callspec.serve.channel import (
    NONCE,
    SIGNATURE,
    TIMESTAMP,
    WINDOW_S,
    channel_key,
    sign_answer,
    sign_request,
    verify_answer,
    verify_request,
)

KEY = channel_key("account-token")
NOW = 1_800_000_000.0
PATH = "/v1/calls/AAAAAAAAAAAAAAAAAAAAAAAA"
BODY = b'{"message": "Press 1."}'


def test_a_signed_request_verifies() -> None:
    headers = sign_request(KEY, "PUT", PATH, BODY, NOW)
    verdict = verify_request(KEY, "PUT", PATH, BODY, headers, NOW + 10)
    assert verdict.ok and verdict.nonce == headers[NONCE]
    assert verdict.expires == int(NOW) + WINDOW_S


@pytest.mark.parametrize(
    ("method", "path", "body", "key"),
    [
        ("GET", PATH, BODY, KEY),
        ("PUT", PATH.replace("AAAA", "BBBB"), BODY, KEY),
        ("PUT", PATH, b'{"message": "Press 2."}', KEY),
        ("PUT", PATH, BODY, channel_key("another-token")),
    ],
    ids=["method", "path", "body", "token"],
)
def test_every_part_is_covered(method: str, path: str, body: bytes, key: bytes) -> None:
    headers = sign_request(KEY, "PUT", PATH, BODY, NOW)
    verdict = verify_request(key, method, path, body, headers, NOW)
    assert (verdict.ok, verdict.reason) == (False, "the signature does not verify")


@pytest.mark.parametrize("skew", [-(WINDOW_S + 1), WINDOW_S + 1])
def test_a_timestamp_outside_the_window_is_refused(skew: int) -> None:
    headers = sign_request(KEY, "GET", PATH, b"", NOW)
    verdict = verify_request(KEY, "GET", PATH, b"", headers, NOW + skew)
    assert verdict.reason == "the timestamp is more than 300 s from the service's clock"


def test_missing_or_malformed_headers_are_refused() -> None:
    headers = sign_request(KEY, "GET", PATH, b"", NOW)
    missing = verify_request(KEY, "GET", PATH, b"", {}, NOW)
    assert missing.reason == "unsigned: the channel's headers are missing"
    short_nonce = verify_request(KEY, "GET", PATH, b"", {**headers, NONCE: "abc"}, NOW)
    assert short_nonce.reason == "the nonce is not 32 hex digits"
    odd_time = verify_request(KEY, "GET", PATH, b"", {**headers, TIMESTAMP: "-5"}, NOW)
    assert odd_time.reason == "the timestamp is not Unix seconds"
    foreign = verify_request(KEY, "GET", PATH, b"", {**headers, SIGNATURE: "ü"}, NOW)
    assert foreign.reason == "the signature does not verify"


def test_the_answer_is_bound_to_its_request() -> None:
    signature = sign_answer(KEY, "a" * 32, 200, b'{"acknowledged": true}')
    assert verify_answer(KEY, "a" * 32, 200, b'{"acknowledged": true}', signature)
    assert not verify_answer(KEY, "b" * 32, 200, b'{"acknowledged": true}', signature)
    assert not verify_answer(KEY, "a" * 32, 404, b'{"acknowledged": true}', signature)
    assert not verify_answer(KEY, "a" * 32, 200, b'{"acknowledged": false}', signature)


def test_the_channel_key_is_not_the_token() -> None:
    assert KEY != b"account-token" and len(KEY) == 32
