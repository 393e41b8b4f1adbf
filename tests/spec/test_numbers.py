"""Numbers are read as Plivo reads them: a US number without its country code never rings
Switzerland, a profile's countries are a guard, and a destination has one identity."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support import cred_env, invoke, sandbox

from callspec.errors import ExitCode
from callspec.spec.number_plans import PLANS, derive
from callspec.spec.numbers import destination_key

CALLER = "+14152224444"


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # files print as page.yaml, profiles.yaml


def _spec(folder: Path, to: object, countries: list[str] | None = None) -> Path:
    allowed = f"    countries: {json.dumps(countries)}\n" if countries is not None else ""
    (folder / "profiles.yaml").write_text(
        f"version: 1\nprofiles:\n  default:\n{allowed}    defaults: {{from: '{CALLER}'}}\n"
    )
    path = folder / "page.yaml"
    path.write_text(
        "version: 1\ncalls:\n  - name: page\n"
        f"    to: {json.dumps(to)}\n"
        "    answer_url: https://hooks.example.com/a.xml\n"
    )
    return path


def test_a_us_number_without_its_country_code_is_refused_and_never_sent(tmp_path: Path) -> None:
    spec = _spec(tmp_path, "4155550202")
    with sandbox() as box:
        result = invoke(["run", spec, "--api-url", box.url], cred_env())
        assert box.calls == []
    assert result.exit_code == ExitCode.INVALID
    assert result.stderr.splitlines()[0] == (
        "page.yaml:4:9: calls[0].to: '4155550202' is no phone number: +41 (CH) has no numbers "
        "of 8 digits after the country code; without its country code it would be "
        "+1 415-555-0202 in US: if that is meant, write +14155550202"
    )


def test_a_destination_outside_the_profiles_countries_is_refused(tmp_path: Path) -> None:
    spec = _spec(tmp_path, ["+14155550101", "+442071838750"], countries=["US", "CA"])
    result = invoke(["validate", spec])
    assert result.exit_code == ExitCode.INVALID
    assert result.stderr.splitlines()[0] == (
        "page.yaml:4:9: calls[0].to: '+442071838750' (dialed as +44 20 7183 8750) is a number "
        "in GB: the profile's countries are US, CA"
    )


def test_a_premium_caribbean_number_behind_plus_one_is_not_the_us(tmp_path: Path) -> None:
    # +1 876 is Jamaica: the calling code alone would pass a US-only guard (toll fraud).
    spec = _spec(tmp_path, "+18765550123", countries=["US"])
    result = invoke(["validate", spec])
    assert result.exit_code == ExitCode.INVALID
    assert "is a number in JM: the profile's countries are US" in result.stderr


def test_allowed_destinations_pass(tmp_path: Path) -> None:
    spec = _spec(tmp_path, ["+14155550101", "+16135550123"], countries=["US", "CA"])
    result = invoke(["validate", spec])
    assert result.exit_code == ExitCode.OK, result.stderr


def test_a_number_that_reads_two_ways_is_a_warning(tmp_path: Path) -> None:
    # 2025550123 is dialed as +20 2 5550123 (Egypt): a possible number, so it is sent, but
    # as a number of the caller ID's country it is Washington's +1 202-555-0123.
    spec = _spec(tmp_path, "2025550123")
    result = invoke(["validate", spec])
    assert result.exit_code == ExitCode.OK, result.stderr
    assert result.stderr == (
        "page.yaml:4:9: warning: calls[0].to: '2025550123' is dialed as +20 2 5550123 (EG); "
        "without its country code it would be +1 202-555-0123 in US: if that is meant, "
        "write +12025550123\n"
    )


def test_a_country_code_that_is_none_is_refused_with_the_nearest(tmp_path: Path) -> None:
    spec = _spec(tmp_path, "+14155550101", countries=["US", "UK"])
    result = invoke(["validate", spec])
    assert result.exit_code == ExitCode.INVALID
    assert result.stderr.splitlines()[0] == (
        "profiles.yaml:4:23: profiles.default.countries[1]: 'UK' is not an ISO 3166-1 country "
        "code that has phone numbers; the United Kingdom is 'GB'"
    )


def test_an_impossible_caller_id_is_refused(tmp_path: Path) -> None:
    spec = _spec(tmp_path, "+14155550101")
    text = spec.read_text().replace("    to:", "    from: '+1415222'\n    to:")
    spec.write_text(text)
    result = invoke(["validate", spec])
    assert result.exit_code == ExitCode.INVALID
    assert "calls[0].from: '+1415222' is no phone number: +1 (US" in result.stderr


def test_a_bad_number_in_a_roster_row_is_located_at_the_row(tmp_path: Path) -> None:
    (tmp_path / "team.csv").write_text("name,phone\nalice,+14155550101\nbob,4155550202\n")
    _spec(tmp_path, "x")
    spec = tmp_path / "page.yaml"
    spec.write_text(
        "version: 1\ncalls:\n  - name: 'page-{{ row.name }}'\n    each: team.csv\n"
        "    to: '{{ row.phone }}'\n    answer_url: https://hooks.example.com/a.xml\n"
    )
    result = invoke(["validate", spec])
    assert result.exit_code == ExitCode.INVALID
    assert result.stderr.splitlines()[0].startswith(
        "team.csv:3:1: calls[0].to (call 'page-bob', row 2 in page.yaml): '4155550202' is no "
        "phone number"
    )


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("14155550101", "+14155550101"),
        (" +14155550101 ", "+1 (415) 555-0101"),
        ("sip:Alice@Example.COM", "sips:Alice@example.com"),
    ],
)
def test_two_spellings_of_one_destination_have_one_key(one: str, other: str) -> None:
    assert destination_key(one) == destination_key(other)


def test_destination_keys_keep_what_plivo_dials_apart() -> None:
    assert destination_key("4155550202") == "+4155550202"  # Plivo dials +41, not +1
    assert destination_key("sip:alice@example.com") != destination_key("sip:Alice@example.com")


def test_the_shipped_number_plans_are_the_installed_phonenumbers_own() -> None:
    # If this fails after phonenumbers was upgraded: python -m callspec.spec.number_plans
    assert derive() == PLANS


def test_a_spec_of_plain_numbers_is_checked_without_importing_phonenumbers(tmp_path: Path) -> None:
    spec = _spec(tmp_path, ["+14155550101", "+442071838750"])
    probe = (
        "import sys\n"
        "from callspec.spec.plan import PlanOptions, build_plan\n"
        f"build_plan([__import__('pathlib').Path({str(spec)!r})], PlanOptions(), {{}})\n"
        "print('phonenumbers' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.stdout == "False\n", done.stderr
