"""Masking secrets: the auth token and declared secret values, in every output.

A :class:`Redactor` knows the secret strings of a run and replaces each
occurrence with ``***`` in text or inside JSON-like values.  Every writer
(terminal, report, JUnit, journal, error text) passes through one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

MASK = "***"


class Redactor:
    """Replaces known secret strings with ``***``; longest first, so overlaps mask fully."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Learn more secret strings (empty ones are ignored)."""
        known = set(self._secrets)
        known.update(s for s in secrets if s)
        self._secrets = sorted(known, key=len, reverse=True)

    def text(self, text: str) -> str:
        """``text`` with every secret masked."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def value(self, value: Any) -> Any:
        """A copy of a JSON-like value with every string masked."""
        if not self._secrets:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        if isinstance(value, dict):
            return {self.text(str(k)): self.value(v) for k, v in value.items()}
        return value
