"""The redactor (callspec.redact): a secret is masked in every spelling a URL gives it."""

from __future__ import annotations

from urllib.parse import quote, quote_plus

import jinja2
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


def test_a_secret_of_unreserved_characters_escaped_anyway_is_masked() -> None:
    """No encoder escapes letters, digits or '-', but a sender may: a decoder reads the
    secret all the same (a request's query, logged as sent)."""
    secret = "sandbox-token-not-a-secret-000000000000"
    mask = Redactor([secret])
    for value in ("%73andbox-token-not-a-secret-000000000000", quote(secret).replace("-", "%2D")):
        assert mask.text(f"GET /a?{value}&x=1") == "GET /a?***&x=1", value
    assert mask.text("GET /a?%53ANDBOX-TOKEN-NOT-A-SECRET-000000000000") == "GET /a?***"


#: Jinja filter chains that keep a secret's characters but change their case, order or
#: escaping before URL-encoding it: each must be masked as a whole.
CHAINS = [
    "reverse | urlencode",
    "upper | urlencode",
    "title | urlencode",
    "capitalize | urlencode",
    "e | urlencode",
    "forceescape | urlencode",
    "tojson | urlencode",
    "lower | e | urlencode",
    "reverse | e",
    "upper | tojson",
    "pprint | urlencode",
    "pprint",
]


def _render(chain: str, value: str) -> str:
    return jinja2.Environment().from_string(f"{{{{ v | {chain} }}}}").render(v=value)


@pytest.mark.parametrize("chain", CHAINS)
@pytest.mark.parametrize("secret", ["p@ss w0rd!", "Tk&x'<\u00e9>/\" 9ZqW"])
def test_a_secret_through_a_chain_of_filters_is_masked(chain: str, secret: str) -> None:
    shown = Redactor([secret]).text(f"GET /a?q={_render(chain, secret)}&x=1 failed")
    # What the chain wraps around a value no filter changes ('000' through pprint: '000').
    wrapped = _render(chain, "000").replace("000", "***")
    assert shown == f"GET /a?q={wrapped}&x=1 failed"


@pytest.mark.parametrize("chain", ["pprint", "pprint | urlencode"])
def test_a_long_secret_pprint_cuts_in_fragments_is_masked(chain: str) -> None:
    secret = "lo" * 40 + " ng"
    assert "\n" in _render("pprint", secret)  # pprint cut it: ('lolo… '\n 'ng')
    shown = Redactor([secret]).text(f"GET /a?q={_render(chain, secret)}&x=1 failed")
    assert shown == "GET /a?q=***&x=1 failed"
