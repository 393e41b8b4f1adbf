"""A call's UUID survives masking: a short secret found by chance inside an identifier the
API made is left there, so the report and the journal hold the UUID a resume reads back.

A UUID that is itself a secret, that a secret reaches into from beside it (in any spelling,
percent-encoded too), or that holds a secret longer than a PIN (which no chance puts there),
is masked.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
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


#: Random, as an API's UUID is (a hostile API may also make one up).
OTHER = "3f2a9c1e-4d5b-4a6c-8e7f-123456789abc"


@pytest.mark.parametrize(
    ("secret", "text", "shown"),
    [
        ("A:3f2a", f"%41:{OTHER}", "***9c1e-4d5b-4a6c-8e7f-123456789abc"),
        ("9abc:Z", f"id {OTHER}:%5A", "id 3f2a9c1e-4d5b-4a6c-8e7f-12345678***"),
        ("9abc:z", f"id {OTHER}%3a%5A", "id 3f2a9c1e-4d5b-4a6c-8e7f-12345678***"),
        # Reversed, in another case, and encoded: '9abc:zZ'.
        ("Zz:CBA9", f"id {OTHER}:%7A%5A", "id 3f2a9c1e-4d5b-4a6c-8e7f-12345678***"),
    ],
)
def test_a_secret_percent_encoded_reaching_into_a_uuid_masks_it(
    secret: str, text: str, shown: str
) -> None:
    assert Redactor([secret]).text(text) == shown


@pytest.mark.parametrize("secret", ["123456789abc", "4d5b-4a6c-8e7f-1234", "3F2A9C1E-4D5B"])
def test_a_uuid_holding_a_secret_longer_than_a_pin_masks_it(secret: str) -> None:
    # Nine characters or more are no chance: an API that echoes the secret in a made-up
    # UUID would show it.
    shown = Redactor([secret]).text(f"id {OTHER}.")
    assert "***" in shown and secret.lower() not in shown.lower()


def test_a_uuid_holding_a_pin_of_eight_characters_is_kept() -> None:
    mask = Redactor(["23456789", "4d5b"])
    assert mask.text(f"id {OTHER} and 4d5b") == f"id {OTHER} and ***"


def test_a_secret_partly_percent_encoded_beside_a_uuid_is_masked_in_every_output(
    tmp_path: Path,
) -> None:
    (tmp_path / "profiles.yaml").write_text(
        "version: 1\nprofiles:\n  default:\n    secrets: [pin]\n"
        '    vars: {pin: "A:3f2a"}\n    defaults: {from: "+14155550100"}\n'
    )
    (tmp_path / "calls.yaml").write_text(
        "version: 1\ncalls:\n  - name: pin-call\n    to: '+14155550101'\n"
        "    answer_url: 'https://hooks.example.com/a?pin={{ pin }}'\n"
    )

    def post(to: str, n: int) -> Reply:
        return 201, {"api_id": "a", "message": "call fired", "request_uuid": f"%41:{OTHER}"}

    report, junit, page = tmp_path / "r.json", tmp_path / "r.xml", tmp_path / "r.html"
    outputs = ["--report", report, "--junit", junit, "--html", page]
    with plivo_fake({}, post) as fake:
        result = invoke(
            ["run", tmp_path / "calls.yaml", "--api-url", fake.url, *outputs], cred_env()
        )
    assert result.exit_code == 0, result.stderr
    texts = {"stdout": result.stdout, "stderr": result.stderr}
    for path in (report, junit, page, report.with_name("r.journal.jsonl")):
        texts[path.name] = path.read_text()
    assert json.loads(texts["r.json"])["calls"][0]["request_uuid"] == "***9c1e-" + OTHER[9:]
    assert "***9c1e-" in texts["stdout"]
    shown = {name for name, text in texts.items() if "41:3f2a" in text}
    assert shown == set()
