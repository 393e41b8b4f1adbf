"""A call's UUID survives masking: a short secret found by chance inside an identifier the
API made is left there, so the report and the journal hold the UUID a resume reads back.

A UUID that is itself a secret, or that a secret reaches into from beside it, is masked.
"""

from __future__ import annotations

import json
from pathlib import Path

from plivo_fake import Reply, plivo_fake
from support import cred_env, invoke

from callspec.redact import Redactor

PIN = "4321"
#: Random, as Plivo's are; it holds the PIN by chance.
UUID = "0c9d4321-5e2b-4b8a-9f11-6a7b43210e55"


def test_a_secret_inside_a_uuid_leaves_the_uuid_whole() -> None:
    mask = Redactor([PIN])
    assert mask.text(f"call {UUID} pin={PIN}") == f"call {UUID} pin=***"
    assert mask.value({"request_uuid": [UUID, UUID.upper()]}) == {
        "request_uuid": [UUID, UUID.upper()]
    }


def test_a_uuid_that_is_a_secret_is_masked_in_any_case() -> None:
    mask = Redactor([UUID])
    assert mask.text(f"token {UUID.upper()} and {UUID}") == "token *** and ***"


def test_a_secret_reaching_into_a_uuid_masks_it() -> None:
    # The secret starts inside the UUID and ends outside it: showing the UUID would show
    # half of it.
    secret = UUID[-6:] + "/zz"
    assert Redactor([secret]).text(f"at {UUID}/zz now") == f"at {UUID[:-6]}*** now"


def test_a_uuid_inside_a_longer_word_is_not_an_identifier() -> None:
    # Glued to other characters, the run is not a UUID the API made: the rule of text holds.
    assert Redactor([PIN]).text(f"x{UUID}") == "x0c9d***-5e2b-4b8a-9f11-6a7b***0e55"


def test_the_report_and_journal_keep_a_uuid_holding_a_declared_secret(tmp_path: Path) -> None:
    (tmp_path / "profiles.yaml").write_text(
        "version: 1\nprofiles:\n  default:\n    secrets: [pin]\n"
        f'    vars: {{pin: "{PIN}"}}\n    defaults: {{from: "+14155550100"}}\n'
    )
    (tmp_path / "calls.yaml").write_text(
        "version: 1\ncalls:\n  - name: pin-call\n    to: '+14155550101'\n"
        "    answer_url: 'https://hooks.example.com/a?pin={{ pin }}'\n"
    )

    def post(to: str, n: int) -> Reply:
        return 201, {"api_id": "a", "message": "call fired", "request_uuid": UUID}

    with plivo_fake({}, post) as fake:
        report = tmp_path / "r.json"
        result = invoke(
            ["run", tmp_path / "calls.yaml", "--api-url", fake.url, "--report", report],
            cred_env(),
        )
    assert result.exit_code == 0, result.stderr
    assert UUID in result.stdout
    assert json.loads(report.read_text())["calls"][0]["request_uuid"] == UUID
    journal = report.with_name("r.journal.jsonl").read_text()
    finished = [json.loads(line) for line in journal.splitlines() if '"finished"' in line]
    assert [line["request_uuid"] for line in finished] == [UUID]
    assert PIN not in journal.replace(UUID, "")  # the PIN itself stays masked
