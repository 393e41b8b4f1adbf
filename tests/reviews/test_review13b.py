"""Review 13b: the HTML report after its scale rework (run --html, callspec report --html).

Each test reproduces a finding and is a strict xfail until the lead fixes it at the root.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from support import answering, cred_env, free_port, invoke, run_args, sandbox, write_spec

from callspec.errors import ExitCode
from callspec.redact import Redactor
from callspec.report import REPORTERS, report_document
from callspec.report.html import render_html
from callspec.results import Attempt, CallResult, RunResult

T0 = "2024-05-01T12:00:00Z"


def _run(body: dict[str, object]) -> RunResult:
    call = CallResult(
        key="k",
        spec_file="s.yaml",
        line=1,
        name="n",
        tags=("t",),
        profile_chain=(),
        body=body,
        outcome="fired",
        attempts=(Attempt(T0, 40.0, status=201),),
        status=201,
        request_uuid="u",
    )
    return RunResult("run-1", "sandbox", "http://127.0.0.1:1", T0, T0, {}, (call,))


def _report_file(tmp_path: Path, old: str, new: str) -> Path:
    """A valid report.json with ``old`` replaced by ``new`` in its text (an edit by hand)."""
    out = io.StringIO()
    REPORTERS["json"].write(_run({"to": "+14155550101"}), Redactor(), out)
    text = out.getvalue()
    path = tmp_path / "r.json"
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def _bodies_json(page: str) -> str:
    found = re.search(r'<script type="application/json" id="bodies">(.*?)</script>', page, re.S)
    assert found, "no bodies script in the page"
    return found.group(1)


# -- a server's answer with a lone surrogate escape --------------------------------------


def test_server_message_with_lone_surrogate_still_writes_report_and_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    answer = b'{"api_id":"a","message":"call \\ud800 fired","request_uuid":"u1"}'
    with answering(lambda h, n: (201, {"Content-Type": "application/json"}, answer)) as (url, log):
        write_spec(tmp_path, 1)
        extra = ("--retries", "0", "-q", "--report", "r.json", "--html", "p.html")
        result = invoke(run_args(tmp_path, url, *extra), env=cred_env())
    assert len(log) == 1  # the call was placed
    assert "internal error" not in result.stderr, result.stderr
    assert result.exit_code == ExitCode.OK, result.output
    assert (tmp_path / "r.json").exists() and (tmp_path / "p.html").exists()


def test_non_utf8_env_value_still_writes_report_and_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "calls.yaml").write_text(
        "version: 1\ndefaults: {from: '+14152224444', answer_url: 'https://x.test/a.xml'}\n"
        "calls:\n  - {name: a, to: '+14155550101', caller_name: '{{ env.WHO }}'}\n"
    )
    with sandbox() as box:
        extra = ("-q", "--report", "r.json", "--html", "p.html")
        result = invoke(run_args(tmp_path, box.url, *extra), env=cred_env(WHO="Ren\udce9"))
        assert len(box.calls) == 1  # the call was placed
    assert "internal error" not in result.stderr, result.stderr
    assert (tmp_path / "r.json").exists() and (tmp_path / "p.html").exists()


# -- a declared short secret: the second redaction pass rewrites the page's own code ------


def _short_secret_run(tmp_path: Path, pin: str) -> tuple[str, str]:
    """run --dry-run --html with a declared secret ``pin``, and callspec report of its JSON."""
    (tmp_path / "profiles.yaml").write_text(
        "version: 1\nprofiles:\n  default:\n    secrets: [pin]\n"
        f'    vars: {{pin: "{pin}"}}\n    defaults: {{from: "+14152224444"}}\n'
    )
    (tmp_path / "calls.yaml").write_text(
        "version: 1\ncalls:\n  - name: page\n    to: '+14155550101'\n"
        "    answer_url: 'https://hooks.example.com/a.xml?pin={{ pin }}'\n    time_limit: 100\n"
    )
    ran = invoke(["run", "calls.yaml", "--dry-run", "-q", "--report", "r.json", "--html", "p.html"])
    assert ran.exit_code == ExitCode.OK, ran.output
    rebuilt = invoke(["report", "r.json", "--html", "q.html"])
    assert rebuilt.exit_code == ExitCode.OK, rebuilt.output
    assert "pin=***" in (tmp_path / "p.html").read_text()  # the secret itself is masked
    return (tmp_path / "p.html").read_text(), (tmp_path / "q.html").read_text()


def test_short_secret_keeps_page_code_and_byte_identity(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    page, rebuilt = _short_secret_run(tmp_path, "100")
    json.loads(_bodies_json(page).replace("\\u003c", "<"))  # the script's JSON.parse
    assert "var PART = ***" not in page
    assert page == rebuilt


def test_short_secret_page_still_works_in_a_browser(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _short_secret_run(tmp_path, "2000")
    dom = _dump_dom((tmp_path / "p.html").as_uri() + "#outcome=skipped")
    assert re.search(r'id="shown">1 of 1 shown<', dom), "the page's script did not run"


def _dump_dom(url: str) -> str:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is required under CI (see .ci/run)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", url]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True).stdout


def test_fragment_search_for_an_e164_number(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write_spec(tmp_path, 3)  # to +14155550000 .. +14155550002
    result = invoke(["run", "calls.yaml", "--dry-run", "-q", "--html", "p.html"])
    assert result.exit_code == ExitCode.OK, result.output
    dom = _dump_dom((tmp_path / "p.html").as_uri() + "#q=+14155550001")
    assert re.search(r'id="shown">1 of 3 shown<', dom), re.findall(r'id="shown">[^<]*', dom)


def test_userinfo_mask_does_not_rewrite_bodies_across_fields() -> None:
    run = _run({"a": "see http://", "b": "ops@example.com"})
    out = io.StringIO()
    REPORTERS["html"].write(run, Redactor(), out)
    bodies = json.loads(_bodies_json(out.getvalue()))
    assert bodies == [{"a": "see http://", "b": "ops@example.com"}]
    assert out.getvalue() == render_html(report_document(run, Redactor()))


# -- a report JSON edited by hand ---------------------------------------------------------


def test_report_with_lone_surrogate_is_a_clear_error_or_a_page(tmp_path: Path) -> None:
    report = _report_file(tmp_path, '"name": "n"', '"name": "n\\ud800"')
    result = invoke(["report", report, "--html", tmp_path / "p.html"])
    assert "internal error" not in result.stderr, result.stderr
    assert result.exit_code in (ExitCode.OK, ExitCode.USAGE), result.output


def test_report_with_huge_integer_is_a_clear_error(tmp_path: Path) -> None:
    report = _report_file(tmp_path, '"duration_ms": 40.0', '"duration_ms": 1' + "0" * 400)
    result = invoke(["report", report, "--html", tmp_path / "p.html"])
    assert "internal error" not in result.stderr, result.stderr
    assert result.exit_code == ExitCode.USAGE, result.output


def test_report_with_a_time_that_is_no_time_is_refused(tmp_path: Path) -> None:
    report = _report_file(tmp_path, '"2024-05-01T12:00:00Z"', '"yesterday"')
    result = invoke(["report", report, "--html", tmp_path / "p.html"])
    assert result.exit_code == ExitCode.USAGE, result.output
    assert "r.json" in result.stderr


# -- the timeline -------------------------------------------------------------------------


def test_timeline_marks_the_bail_point(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_spec(tmp_path, 3)
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens: refused, a certain non-answer
    extra = ("--bail", "1", "--retries", "0", "-q", "--html", "p.html")
    result = invoke(run_args(tmp_path, url, *extra), env=cred_env())
    assert "circuit breaker" in result.output, result.output
    page = (tmp_path / "p.html").read_text()
    svg = re.search(r"<svg.*?</svg>", page, re.S)
    assert svg, "no timeline"
    assert re.search(r"stop|bail", svg.group(0)), svg.group(0)


# -- callspec report and the redactor -----------------------------------------------------


def test_report_command_masks_the_env_token_and_userinfo(tmp_path: Path) -> None:
    token = "tok-3f9a1c7e-very-secret-0000"
    report = _report_file(tmp_path, '"api_url": "http://127.0.0.1:1"', '"api_url": "X"')
    text = report.read_text()
    text = text.replace('"X"', '"https://ops:hunter2@api.example.com"')
    report.write_text(text.replace('"error": null', f'"error": "proxy echoed {token}"', 1))
    env = {"PLIVO_AUTH_ID": "MAX", "PLIVO_AUTH_TOKEN": token}
    result = invoke(["report", report, "--html", tmp_path / "p.html"], env=env)
    assert result.exit_code == ExitCode.OK, result.output
    page = (tmp_path / "p.html").read_text()
    assert "proxy echoed" in page  # the edit reached the page
    assert token not in page
    assert "hunter2" not in page


def test_non_utf8_spec_file_name_still_writes_report_and_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    name = os.fsdecode(b"caf\xe9.yaml")
    write_spec(tmp_path, 1, name=name)
    result = invoke(["run", name, "--dry-run", "-q", "--report", "r.json", "--html", "p.html"])
    assert "internal error" not in result.stderr, result.stderr
    assert (tmp_path / "r.json").exists() and (tmp_path / "p.html").exists()
