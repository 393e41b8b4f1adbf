"""The redactor (callspec.redact): a secret is masked in every spelling a URL gives it."""

from __future__ import annotations

from urllib.parse import quote, quote_plus

import pytest
from misbehaving import ODD_SECRET
from requests.utils import requote_uri

from callspec.redact import Redactor


@pytest.mark.parametrize("secret", [ODD_SECRET, "p@ss w/rd+%&=?#~", "gr\u00fc\u00dfe|1"])
def test_every_percent_encoding_of_a_secret_is_masked(secret: str) -> None:
    """quote/quote_plus with any safe set, either hex case, requests' own requoting."""
    mask = Redactor([secret, "a|b"])  # a shorter secret must not cut the longer one
    safes = ["", "/", "@", "@:/", "!$&'()*+,;=:@", "~", "-_.!~*'()", ";,/?:@&=+$-_.!~*'()#"]
    spelled = {quote(secret, safe=s) for s in safes} | {quote_plus(secret, safe=s) for s in safes}
    spelled |= {v.lower() for v in spelled} | {requote_uri(quote(secret, safe="|^@"))}
    for value in spelled:
        shown = mask.text(f"GET /a?pin={value}&x=1 failed")
        assert shown == "GET /a?pin=***&x=1 failed", (value, shown)
