"""The sandbox (``--simulate``) plays registered calls against a running ``callspec serve``."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from service_process import TOKEN, serving

from callspec.sandbox.outcomes import SimulationConfig, parse_answer_by
from callspec.sandbox.server import Sandbox, SandboxConfig
from callspec.serve.client import ServiceClient
from callspec.serve.prompt import Prompt, new_id

pytestmark = pytest.mark.timeout(90)

AUTH_ID = "MATESTSERVE000000001"
ANA, BEN, CLEO = "+14155550100", "+14155550101", "+14155550102"
PAGE = Prompt("Deploy of payments failed. Press 4 to take it.", digit="4")


def test_ack_is_recorded_human_and_wrong_key_are_not(tmp_path: Path) -> None:
    outcomes = {ANA: "human", BEN: "wrong-key", CLEO: "ack"}
    simulate = SimulationConfig(
        duration_s=0.05,
        connect_timeout_s=10.0,
        read_timeout_s=30.0,
        answer_by=tuple(parse_answer_by(f"{to}={what}") for to, what in outcomes.items()),
        ack_digit="4",
    )
    # The sandbox signs its requests with the auth token the service checks them with.
    config = SandboxConfig(auth_id=AUTH_ID, auth_token=TOKEN, simulate=simulate)
    with serving(tmp_path / "acks.db") as served, Sandbox(config) as box:
        client = ServiceClient(served.url, TOKEN)
        ids = {to: new_id() for to in outcomes}
        uuids = {}
        for to, id in ids.items():
            client.register(id, PAGE)
            body = {"from": "+14152224444", "to": to, "answer_url": client.answer_url(id)}
            placed = requests.post(
                f"{box.url}/v1/Account/{AUTH_ID}/Call/",
                json=body,
                auth=(AUTH_ID, TOKEN),
                timeout=30,
            )
            assert placed.status_code == 201
            uuids[to] = placed.json()["request_uuid"]
        assert box.wait_for_calls(60)
        states = {to: client.status(id) for to, id in ids.items()}
    for to, status in states.items():
        (call,) = status.calls
        assert call.call_uuid == uuids[to]
        assert call.answered_at is not None and call.ended_at is not None  # hangup seen
    assert states[CLEO].acknowledged and states[CLEO].calls[0].last_digits == "4"
    assert not states[ANA].acknowledged and states[ANA].calls[0].last_digits is None
    wrong = states[BEN].calls[0]
    assert not states[BEN].acknowledged
    assert (wrong.wrong_keys, wrong.last_digits) == (1, "9")
    keys = {r["call_uuid"]: r["note"] for r in box.calls if r.get("simulated") == "key"}
    assert keys == {uuids[CLEO]: "pressed 4", uuids[BEN]: "pressed 9"}
    assert not [r for r in box.calls if r.get("simulated") == "end" and "Error" in r["note"]]
