"""Markdown that stays inert and small: for GitHub's step summary and other pages.

This module owns two guarantees of any Markdown callspec writes: a value from a
spec, a server or an error cannot change the page's structure (end a table
cell, open a link, an image, a code span, a formula or an HTML tag), and a page
never grows past its byte budget however many calls a run had.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from callspec.report.utf8 import utf8_safe

ITEM_MAX_CHARS = 300  # of one table cell or list item, before escaping
NOTE_MAX_CHARS = 200  # of a line counting what was left out
RESERVE_BYTES = 2048  # kept for those lines: a page has at most a few of them
# What could change the page's structure; emphasis (*, _) could only restyle a value.
_SPECIAL = re.compile(r"[\\`\[\]|$]")


def markdown_text(text: str, limit: int = ITEM_MAX_CHARS) -> str:
    """``text`` as inert Markdown on one line, at most ``limit`` characters before escaping.

    HTML is escaped (no tag or entity gets through) and so is the punctuation
    that could end a table cell or start a link, image, code span or formula
    (emphasis is left alone: it cannot break out, and ``***`` stays readable).
    """
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "\N{HORIZONTAL ELLIPSIS}"
    return _SPECIAL.sub(r"\\\g<0>", html.escape(text, quote=False))


class Page:
    """Markdown lines within ``max_bytes`` (UTF-8, newlines included).

    Once a line does not fit, no later one is tried, so what is shown is always
    a prefix of the order lines were offered in: offer the important first.
    What was left out is counted in a short note per :meth:`add_all`, paid from
    :data:`RESERVE_BYTES`; a page calls it a few times, not once per item.
    """

    def __init__(self, max_bytes: int) -> None:
        self.lines: list[str] = []
        self.room = max_bytes - RESERVE_BYTES
        self.full = False

    def add(self, line: str) -> bool:
        """Add ``line`` if it fits (and nothing was refused before); whether it was added."""
        line = utf8_safe(line)  # measured as written: a lone surrogate as its escape
        size = len(line.encode()) + 1
        self.full = self.full or size > self.room
        if not self.full:
            self.lines.append(line)
            self.room -= size
        return not self.full

    def add_all(self, lines: list[str], more: Callable[[int], str]) -> None:
        """``lines`` while they fit, then ``more(number left out)`` as one note."""
        shown = next((i for i, line in enumerate(lines) if not self.add(line)), len(lines))
        if shown < len(lines):  # after a blank line: a table would take the note for a row
            self.lines += ["", more(len(lines) - shown)[:NOTE_MAX_CHARS]]

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"
