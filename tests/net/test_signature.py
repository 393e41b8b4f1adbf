"""Plivo's V3 signature: what callspec signs, the official SDK accepts, and what the SDK
signs, callspec's verifier accepts; anything else is refused."""

from __future__ import annotations

import pytest
from plivo.utils.signature_v3 import get_signature_v3, validate_v3_signature

from callspec.net.signature import V3, V3_NONCE, signature_headers, v3_base, verify_v3

TOKEN = "MjZmNGM1ZjYtZDk1Ni00"
CASES = [
    ("https://ack.example.com/plivo/answer?k=v&a=1", "POST", {"CallUUID": "u-1", "Digits": "1"}),
    ("https://ack.example.com/plivo/answer", "POST", {}),
    ("https://ack.example.com/plivo/answer?x=2", "GET", {"From": "+14155550100", "To": "b c"}),
    ("http://127.0.0.1:8080/a/", "GET", {}),
]


@pytest.mark.parametrize(("url", "method", "params"), CASES)
def test_the_sdk_accepts_what_callspec_signs(url: str, method: str, params: dict[str, str]) -> None:
    headers = signature_headers(url, method, params, TOKEN)
    assert validate_v3_signature(method, url, headers[V3_NONCE], TOKEN, headers[V3], dict(params))


@pytest.mark.parametrize(("url", "method", "params"), CASES)
def test_callspec_accepts_what_the_sdk_signs(url: str, method: str, params: dict[str, str]) -> None:
    from plivo.utils.signature_v3 import construct_get_url, construct_post_url

    nonce = "12345678901234567890"
    base = (
        construct_get_url(url, dict(params)) if method == "GET" else construct_post_url(url, params)
    ).decode()
    assert base == v3_base(url, method, params)
    sdk = get_signature_v3(TOKEN.encode(), base, nonce.encode()).decode()
    assert verify_v3(url, method, params, nonce, sdk, TOKEN)
    # Plivo sends one signature per active token, comma-separated: any one may match.
    assert verify_v3(url, method, params, nonce, f"AAAA,{sdk}", TOKEN)


def test_a_wrong_token_nonce_parameter_or_empty_header_is_refused() -> None:
    url, method, params = CASES[0]
    headers = signature_headers(url, method, params, TOKEN)
    good = (url, method, params, headers[V3_NONCE], headers[V3])
    assert verify_v3(*good, TOKEN)
    assert not verify_v3(*good, TOKEN + "x")
    nonce = headers[V3_NONCE]
    other = nonce[:-1] + ("1" if nonce.endswith("0") else "0")  # a random nonce may end in 0
    assert not verify_v3(url, method, params, other, headers[V3], TOKEN)
    assert not verify_v3(url, method, {**params, "Digits": "2"}, *good[3:], TOKEN)
    assert not verify_v3(url, "GET", params, *good[3:], TOKEN)
    assert not verify_v3(url, method, params, headers[V3_NONCE], "", TOKEN)
    assert not verify_v3(url, method, params, "", headers[V3], TOKEN)
