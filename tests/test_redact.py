"""The redactor (callspec.redact): a secret is masked in every spelling a URL gives it, and
every spelling Jinja's case, order and escaping filters give it, chained in any order."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, quote_plus

import jinja2
import pytest
from misbehaving import ODD_SECRET
from requests.utils import requote_uri
from support import cred_env, invoke, run_args, sandbox

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


#: Two filters that change case or order, chained, or one after an escape: each leaves the
#: secret's characters (or its escape's) in place, so each is a spelling to mask whole.
TWO_FILTERS = [
    "reverse | upper",
    "title | reverse",
    "reverse | capitalize",
    "e | upper",
    "tojson | upper",
    "e | reverse",
    "urlencode | reverse",
    "lower | reverse | urlencode",
    "reverse | upper | urlencode",
    "e | urlencode | upper",
    "urlencode | upper | reverse",
    "upper | e | reverse",
]


@pytest.mark.parametrize("chain", TWO_FILTERS)
# Letters whose case changes their length too: 'ß' upper-cased is 'SS', 'İ' lower-cased two.
@pytest.mark.parametrize("secret", ["hunTer-2 pass&word", "Grüße <İx> Kelvin"])
def test_case_and_order_filters_chained_with_escapes_are_masked(chain: str, secret: str) -> None:
    shown = Redactor([secret]).text(f"GET /a?q={_render(chain, secret)}&x=1 failed")
    wrapped = _render(chain, "000").replace("000", "***")  # tojson's quotes, kept
    assert shown == f"GET /a?q={wrapped}&x=1 failed"


def test_overlapping_secrets_mask_their_union() -> None:
    # Whichever comes first, neither leaves a piece of the other showing.
    assert Redactor(["abcd", "cdefgh"]).text("<abcdefgh>") == "<***>"


def test_two_filters_chained_on_a_declared_secret_are_masked_in_every_output(
    tmp_path: Path,
) -> None:
    (tmp_path / "profiles.yaml").write_text(
        "version: 1\nprofiles:\n  default:\n    secrets: [pin]\n"
        '    vars: {pin: "pagerPin42"}\n    defaults: {from: "+14155550100"}\n'
    )
    (tmp_path / "calls.yaml").write_text(
        "version: 1\ncalls:\n  - name: pin-call\n    to: '+14155550101'\n"
        "    answer_url: 'https://h.example.com/a?r={{ pin | reverse | upper }}"
        "&e={{ pin | lower | reverse | urlencode }}'\n"
    )
    outputs = {"render": invoke(["render", tmp_path / "calls.yaml", "-f", "json"]).stdout}
    report = tmp_path / "r.json"
    with sandbox() as sb:
        result = invoke(run_args(tmp_path, sb.url, "--report", str(report)), cred_env())
        sent = sb.calls[0]["body"]["answer_url"]
    assert result.exit_code == 0, result.stderr
    assert sent == "https://h.example.com/a?r=24NIPREGAP&e=24nipregap"  # sent as rendered
    outputs |= {"report": report.read_text(), "journal": _journal(report).read_text()}
    assert "https://h.example.com/a?r=***&e=***" in outputs["render"]
    assert "https://h.example.com/a?r=***&e=***" in outputs["report"]
    shown = {name for name, text in outputs.items() if "24nipregap" in text.lower()}
    assert shown == set()


def _journal(report: Path) -> Path:
    return report.with_name("r.journal.jsonl")
