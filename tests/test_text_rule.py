"""The one rule for text from outside: mask every spelling, then cut, then escape controls."""

from __future__ import annotations

import jinja2
import pytest

from callspec.redact import Redactor
from callspec.text import escape_controls, outside

SECRET = "p&ss'<w>\"rd Tok-1234"


@pytest.mark.parametrize(
    ("spelling", "masked"),
    [
        ("tojson", '["***"]'),  # a JSON string: its quotes are the filter's, not the secret's
        *((f, "[***]") for f in ("e", "escape", "forceescape", "upper", "lower", "reverse")),
        ("urlencode", "[***]"),
    ],
)
def test_a_secret_spelled_by_a_jinja_filter_is_masked(spelling: str, masked: str) -> None:
    shown = jinja2.Environment().from_string(f"[{{{{ v | {spelling} }}}}]").render(v=SECRET)
    assert SECRET not in shown  # the filter did change it
    assert Redactor([SECRET]).text(shown) == masked


def test_the_secret_is_masked_before_the_cut() -> None:
    token = "T" * 8 + "0123456789abcdef0123456789ABCDEF"
    text = "x" * 190 + token + " the rest"
    shown = outside(text, Redactor([token]).text, cap=200)
    assert "TTTTTTTT01" not in shown and "0123" not in shown
    assert shown.startswith("x" * 190 + "***")


def test_a_newline_cannot_start_a_workflow_command() -> None:
    forged = "bad\n::error file=README.md,line=1::forged\r\n::stop-commands::x"
    shown = outside(forged, str)
    assert "\n" not in shown and "\r" not in shown
    assert shown == "bad\\n::error file=README.md,line=1::forged\\r\\n::stop-commands::x"


def test_escapes_are_visible_and_encodable() -> None:
    assert escape_controls("a\x1b[2Jb\u202ec\ud800\x00\t") == "a\\x1b[2Jb\\u202ec\\ud800\\x00\\t"
    escape_controls("\udce9").encode("utf-8")  # a lone surrogate no longer breaks a writer


def test_long_text_is_cut_with_its_length() -> None:
    assert outside("A" * 10_000, str) == "A" * 200 + "… (10,000 characters)"
    assert outside("A" * 10_000, str, cap=None) == "A" * 10_000
