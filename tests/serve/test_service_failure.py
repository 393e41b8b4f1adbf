"""When the answer service fails itself (its store broken, a full disk), it answers the
runner's signed request with a signed 500, and the runner says the service failed: not
that the answer is unsigned (which sends a user hunting a wrong auth token).  Nothing
is placed for a message the service did not take."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import AUTH_ID, TOKEN, cred_env, invoke, read_report

from callspec.errors import ExitCode
from callspec.sandbox.outcomes import SimulationConfig, parse_answer_by
from callspec.sandbox.server import Sandbox, SandboxConfig
from callspec.serve.server import ServeConfig, Service

pytestmark = pytest.mark.timeout(60)

BEN = "+14155550102"


@pytest.fixture
def box() -> Iterator[Sandbox]:
    simulate = SimulationConfig(
        duration_s=0.2,
        answer_by=(parse_answer_by(f"{BEN}=ack"),),
        connect_timeout_s=5.0,
        read_timeout_s=10.0,
    )
    sandbox = Sandbox(SandboxConfig(auth_id=AUTH_ID, auth_token=TOKEN, simulate=simulate))
    yield sandbox.start()
    sandbox.stop()


def test_a_failing_store_is_reported_as_the_service_failing(tmp_path: Path, box: Sandbox) -> None:
    log = io.StringIO()
    config = ServeConfig(store=tmp_path / "acks.db", auth_token=TOKEN, port=0, log=log)
    with Service(config) as service:
        service.store.close()  # every use of the store now raises, as a full disk's would
        spec = tmp_path / "page.yaml"
        spec.write_text(
            "version: 1\n"
            "calls:\n"
            "  - name: page\n"
            f'    to: "{BEN}"\n'
            '    from: "+14155550100"\n'
            '    message: "db-1 is down. Press 1 to take it."\n'
            "    ack: {within: 10}\n"
        )
        report = tmp_path / "report.json"
        args = ["run", spec, "--api-url", box.url, "--service", service.url, "--report", report]
        result = invoke([*args, "--retries", "0", "--no-progress"], cred_env())
    assert result.exit_code == ExitCode.CALL_FAILED
    assert box.calls == []  # nothing placed
    (call,) = read_report(report)["calls"]
    assert call["error"] == (
        "the answer service did not take the message, so the call was not placed: "
        "the answer service failed to register (HTTP 500): internal error; its log says why"
    )
    errors = [json.loads(line) for line in log.getvalue().splitlines()]
    assert [e["error"] for e in errors if e["event"] == "error"] == [
        "ProgrammingError: Cannot operate on a closed database."
    ]
