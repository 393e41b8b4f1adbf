"""``callspec import postman``: the seed's Postman item becomes a spec that validates and
renders to the seed's body."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import EXAMPLES, ROOT, SEED_CURL_BODY, invoke

from callspec.errors import ExitCode

COLLECTION = EXAMPLES / "postman" / "seed-collection.json"
SEED = ROOT.parent / "shared" / "seed" / "plivo-make-an-outbound-call.txt"


def test_the_fixture_holds_the_seeds_item() -> None:
    if not SEED.exists():
        pytest.skip("shared/seed is not beside the project")
    text = SEED.read_text()
    item = json.loads(text[text.index("{", text.index("Postman Collection Item JSON")) :])
    assert json.loads(COLLECTION.read_text())["item"][0]["item"][0] == item


def test_import_renders_the_seeds_body(tmp_path: Path) -> None:
    spec = tmp_path / "imported.yaml"
    result = invoke(["import", "postman", str(COLLECTION), "-o", str(spec)])
    assert result.exit_code == ExitCode.OK, result.stderr
    assert "3 calls, 1 skipped" in result.stdout
    assert "skipped 'Voice / Get call': not a Make-a-call request (GET" in result.stderr
    text = spec.read_text()
    assert "# from Voice / Make an outbound call" in text
    rendered = invoke(["render", str(spec), "--format", "json"])
    assert rendered.exit_code == ExitCode.OK, rendered.stderr
    bodies = {r["call"]: r["body"] for r in json.loads(rendered.stdout)}
    seed = json.loads(SEED_CURL_BODY)
    expected = {**seed, "send_on_preanswer": True, "time_limit": 300}
    assert bodies["make-an-outbound-call"] == expected
    example = bodies["make-an-outbound-call-saved-example-request"]
    assert example["ring_method"] == "POST"  # "POSt" in the saved example, normalized
    assert bodies["page-with-variables"]["from"] == "+14152224444"  # {{caller-id}}: a var


def test_an_existing_output_is_not_overwritten_without_force(tmp_path: Path) -> None:
    spec = tmp_path / "mine.yaml"
    spec.write_text("keep me\n")
    result = invoke(["import", "postman", str(COLLECTION), "-o", str(spec)])
    assert result.exit_code == ExitCode.USAGE
    assert spec.read_text() == "keep me\n"
    assert invoke(["import", "postman", str(COLLECTION), "-o", str(spec), "--force"]).exit_code == 0
    assert "make-an-outbound-call" in spec.read_text()


def test_a_file_that_is_no_collection_is_a_located_error(tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text('{"requests": []}')
    result = invoke(["import", "postman", str(bad)])
    assert result.exit_code == ExitCode.INVALID
    assert "not a Postman collection" in result.stderr
    bad.write_text("{not json")
    assert invoke(["import", "postman", str(bad)]).exit_code == ExitCode.INVALID
