"""Text from outside callspec: the one rule before any output sees it.

Everything callspec did not write itself (an API's body or headers, a checked
server's answer, a file name, a roster cell, an environment value, an
exception's words) passes :func:`outside` before it reaches stdout, stderr, a
progress line, the report, JUnit, HTML, the step summary or an annotation.
The order is the rule:

1. **mask** every spelling of every secret (the run's :class:`~callspec.redact.Redactor`):
   a secret must be whole to be recognized, so masking comes first;
2. **cut** to a bounded length: after masking, a cut can no longer leave half a
   token showing;
3. **escape** control characters, bidi controls, line and paragraph separators
   and lone surrogates as their visible escapes (``\\n``, ``\\x1b``, ``\\u202e``,
   ``\\udce9``): a newline cannot start a forged ``::error`` workflow command, an
   escape sequence cannot repaint a terminal, and every writer can encode it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

#: C0 and C1 control characters, DEL, and the line and paragraph separators: what must
#: not reach a terminal, a comment or a message raw (a name, a path, an API's text).
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
#: Bidirectional overrides and isolates: shown, they reorder the text around them.
BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
#: What :func:`escape_controls` escapes: the above, lone surrogates (bytes that were not
#: UTF-8, or a JSON ``\\ud800`` escape from a server), which UTF-8 cannot encode, and the
#: noncharacters U+FFFE and U+FFFF, which no YAML file (an imported spec's comment) may hold.
_UNSAFE = re.compile(f"{CONTROL.pattern}|{BIDI.pattern}|[\ud800-\udfff\ufffe\uffff]")
#: Characters of outside text kept by default in a message, a note or a field.
DEFAULT_CAP = 200
ELLIPSIS = "…"

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """``text`` with every control, bidi, separator and lone-surrogate character spelled as
    its escape (``\\n``, ``\\x1b``, ``\\u202e``, ``\\udce9``): one line, inert, encodable."""
    return _UNSAFE.sub(_escape, text) if _UNSAFE.search(text) else text


def cut(text: str, cap: int | None) -> str:
    """``text`` shortened to ``cap`` characters with ``…`` and the full length when longer."""
    if cap is None or len(text) <= cap:
        return text
    return f"{text[:cap]}{ELLIPSIS} ({len(text):,} characters)"


def outside(value: object, mask: Callable[[str], str], cap: int | None = DEFAULT_CAP) -> str:
    """``value`` (text from outside callspec) as any output may show it: every secret
    masked, then cut to ``cap`` characters (None: not cut), then control characters
    escaped.  ``mask`` is the run's :meth:`Redactor.text <callspec.redact.Redactor.text>`."""
    return escape_controls(cut(mask(str(value)), cap))
