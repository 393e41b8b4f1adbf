"""Text that UTF-8 can carry: every output's last word on lone surrogates.

Python reads bytes that are not UTF-8 (an environment value, a file name) as
lone surrogates (``surrogateescape``), and a JSON ``\\ud800`` escape from a
server's answer is one too; UTF-8 cannot encode them, so a writer would fail
after the calls were placed and lose the report.  Here each lone surrogate
becomes the text Python's ``backslashreplace`` gives it (``\\udce9``), once,
where results enter the report documents (:func:`utf8_safe_value`) and at the
terminal streams (:class:`Utf8Stream`): the same text in every output, and a
JSON report that holds no lone surrogate (``callspec report`` refuses one).
"""

from __future__ import annotations

import json
import re
from typing import IO, Any, TextIO, cast

_SURROGATE = re.compile("[\ud800-\udfff]")


def utf8_safe(text: str) -> str:
    """``text`` with each lone surrogate spelled as its escape (``\\udce9``)."""
    if _SURROGATE.search(text) is None:
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def utf8_safe_value(value: Any) -> Any:
    """A JSON-like value with :func:`utf8_safe` applied to every string, keys too: a copy,
    or ``value`` itself when no string of it holds a lone surrogate (the common case,
    found by one scan of its JSON text: a 20,000-call report in a fraction of the
    time a walk takes)."""
    text = json.dumps(value, ensure_ascii=False, skipkeys=True, default=repr)
    return _safe_copy(value) if has_surrogate(text) else value


def _safe_copy(value: Any) -> Any:
    if isinstance(value, str):
        return utf8_safe(value)
    if isinstance(value, dict):
        return {_safe_copy(k): _safe_copy(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_safe_copy(v) for v in value]
    return value


def has_surrogate(text: str) -> bool:
    """True when ``text`` holds a lone surrogate (UTF-8 cannot encode it)."""
    return _SURROGATE.search(text) is not None


class Utf8Stream:
    """A text stream that writes :func:`utf8_safe` text to the stream it wraps."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(utf8_safe(text))

    def __getattr__(self, name: str) -> Any:  # flush, isatty, fileno, ...
        return getattr(self._stream, name)


def utf8_stream(stream: IO[str]) -> TextIO:
    """``stream`` as a :class:`Utf8Stream` (itself when it is one already)."""
    return cast(TextIO, stream if isinstance(stream, Utf8Stream) else Utf8Stream(stream))
