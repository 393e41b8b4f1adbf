"""The ``plivo`` fixture: the Plivo fake (tests/plivo_fake.py) with the delivery tests'
stories (delivery_stories.py); and ``start``: sandboxes on the tests' own account."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from delivery_stories import stories
from plivo_fake import PlivoFake, plivo_fake
from simulation_plugin import Start
from support import AUTH_ID, TOKEN

from callspec.sandbox.outcomes import SimulationConfig
from callspec.sandbox.server import Sandbox, SandboxConfig


@pytest.fixture
def plivo() -> Iterator[PlivoFake]:
    """The Plivo fake with every delivery story."""
    with plivo_fake(stories()) as fake:
        yield fake


@pytest.fixture
def start() -> Iterator[Start]:
    """Sandboxes of the test's own, on the account the delivery tests run with
    (``support.AUTH_ID``), each playing calls as ``simulate`` says
    (``simulation_plugin.scripted``); stopped after the test.  It stands in for the
    simulation plugin's ``start``, whose sandboxes hold an account of their own."""
    boxes: list[Sandbox] = []

    def _start(simulate: SimulationConfig) -> Sandbox:
        box = Sandbox(SandboxConfig(auth_id=AUTH_ID, auth_token=TOKEN, simulate=simulate))
        boxes.append(box.start())
        return box

    yield _start
    for box in boxes:
        box.stop()
