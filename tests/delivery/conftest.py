"""The ``plivo`` fixture: the Plivo fake (tests/plivo_fake.py) with the delivery tests'
stories (delivery_stories.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from delivery_stories import stories
from plivo_fake import PlivoFake, plivo_fake


@pytest.fixture
def plivo() -> Iterator[PlivoFake]:
    """The Plivo fake with every delivery story."""
    with plivo_fake(stories()) as fake:
        yield fake
