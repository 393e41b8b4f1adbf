"""The text rule in every output: text from outside is masked in every spelling, then cut,
then has its controls escaped, before stdout, stderr, the progress line, the JSON report,
JUnit, the journal, the HTML page, the step summary or an annotation sees it.

One scenario per spelling of the auth token: a local API refuses the call with a 400 whose
error text forges GitHub workflow commands (``\\n::error file=README.md...``), repaints the
terminal (ESC), reverses the text (U+202E) and echoes the token spelled that way, 1,990
characters in (where a cut that came before the mask would leave part of it).  The spec's
file name forges commands too.  ``run`` writes every file of the report; ``callspec report``
rebuilds the text and the annotations from the JSON; ``validate`` reports the token (so
spelled) as a bad destination of a spec whose file name forges commands.
"""

from __future__ import annotations

import base64
import html
import json
import urllib.parse
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread

import click
import jinja2
import pytest
from click.testing import CliRunner
from support import invoke

from callspec.cli.common import handled
from callspec.spec.model import PlanOptions
from callspec.spec.plan import build_plan

AUTH_ID = "MAOUTSIDE00000000000"
TOKEN = "Tk&x'\"<é>/+ 9ZqW-outside"
HOSTILE = "bad\n::error file=README.md,line=1::forged\r\n::stop-commands::x \x1b[2J\u202e "
FILE_NAME = "calls\n::error file=README.md,line=1::forged\x1b[2J\u202e.yaml"
PADDING = 1990  # the token straddles the 2,000 characters a line of an output keeps


def _jinja(chain: str, value: str) -> str:
    return jinja2.Environment().from_string(f"{{{{ v | {chain} }}}}").render(v=value)


SPELLINGS: dict[str, Callable[[str], str]] = {
    "plain": lambda t: t,
    "url-encoded": lambda t: urllib.parse.quote(t, safe=""),
    "json-escaped": lambda t: json.dumps(t)[1:-1],
    "tojson": lambda t: _jinja("tojson", t),
    "html-escaped": html.escape,
    # Jinja's e, escape and forceescape (markupsafe): quotes as &#39; and &#34;, not &#x27;.
    "jinja-escaped": lambda t: _jinja("e", t),
    "upper": str.upper,
    "reverse": lambda t: t[::-1],
    # Filters chained in a template before the value is URL-encoded.
    "reverse-urlencoded": lambda t: _jinja("reverse | urlencode", t),
    "lower-escaped-urlencoded": lambda t: _jinja("lower | e | urlencode", t),
    # As requests builds the Authorization header (latin-1), and a server may echo it.
    "basic-auth": lambda t: base64.b64encode(f"{AUTH_ID}:{t}".encode("latin-1")).decode(),
    "cut-at-boundary": lambda t: t,
}

OUTPUTS = (
    "run stdout",
    "run stderr (progress)",
    "report.json",
    "junit.xml",
    "journal",
    "report.html",
    "step summary",
    "report --format text",
    "report --format github",
    "validate stderr",
    "validate --format github",
    "validate --format json",
)


class _Refusing(BaseHTTPRequestHandler):
    """Plivo's Make-a-call answering 400 with a hostile error text."""

    error = ""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps({"api_id": "x", "error": self.error}).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _outputs(folder: Path, spelling: str) -> dict[str, str]:
    """Every output of the scenario for one spelling of the token."""
    spelled = SPELLINGS[spelling](TOKEN)
    pad = "p" * (PADDING - len(HOSTILE)) if spelling == "cut-at-boundary" else ""
    handler = type("Handler", (_Refusing,), {"error": f"{HOSTILE}{pad}denied: {spelled}"})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    # A short poll: shutdown() waits for it (the default 0.5 s, once per spelling).
    Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    env = {
        "PLIVO_AUTH_ID": AUTH_ID,
        "PLIVO_AUTH_TOKEN": TOKEN,
        "GITHUB_STEP_SUMMARY": str(folder / "summary.md"),
    }
    spec = folder / FILE_NAME
    spec.write_text(
        "version: 1\ncalls:\n  - name: page\n    from: '+14152224444'\n"
        "    to: '+14155550101'\n    answer_url: https://hooks.example.com/a.xml\n"
    )
    files = [
        "--report",
        folder / "r.json",
        "--junit",
        folder / "j.xml",
        "--html",
        folder / "p.html",
    ]
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        run = invoke(["run", spec, "--api-url", url, "--no-progress", *files], env)
    finally:
        server.shutdown()
        server.server_close()
    assert run.exit_code == 1, run.output  # the call failed: its text reached every output
    report = ["report", folder / "r.json", "--format"]
    bad = folder / "invalid" / FILE_NAME
    bad.parent.mkdir()
    bad.write_text(f"version: 1\ncalls:\n  - name: page\n    to: {json.dumps(spelled)}\n")
    validate = {
        fmt: invoke(["validate", bad, "--format", fmt], env) for fmt in ("text", "github", "json")
    }
    assert validate["text"].exit_code == 3, validate["text"].output
    return {
        "run stdout": run.stdout,
        "run stderr (progress)": run.stderr,
        "report.json": (folder / "r.json").read_text(encoding="utf-8"),
        "junit.xml": (folder / "j.xml").read_text(encoding="utf-8"),
        "journal": (folder / "r.journal.jsonl").read_text(encoding="utf-8"),
        "report.html": (folder / "p.html").read_text(encoding="utf-8"),
        "step summary": (folder / "summary.md").read_text(encoding="utf-8"),
        "report --format text": invoke([*report, "text"], env).stdout,
        "report --format github": invoke([*report, "github"], env).stdout,
        "validate stderr": validate["text"].stderr,
        "validate --format github": validate["github"].stdout,
        "validate --format json": validate["json"].stdout,
    }


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], dict[str, str]]]:
    made: dict[str, dict[str, str]] = {}

    def outputs(spelling: str) -> dict[str, str]:
        if spelling not in made:
            made[spelling] = _outputs(tmp_path_factory.mktemp(spelling), spelling)
        return made[spelling]

    yield outputs


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("spelling", SPELLINGS)
def test_text_from_outside_is_masked_cut_and_escaped(
    scenario: Callable[[str], dict[str, str]], spelling: str, output: str
) -> None:
    text = scenario(spelling)[output]
    assert text.strip(), f"{output} is empty: it could not show the rule"
    spelled = SPELLINGS[spelling](TOKEN)
    # Masked before any cut: no part of the token as spelled, not even its first characters.
    windows = {spelled[i : i + 8] for i in range(len(spelled) - 7)}
    shown = [w for w in windows if w in text]
    assert shown == [], f"{output} shows the token ({spelling}): {shown}"
    # Escaped: nothing from outside starts a line, repaints the terminal or reorders text.
    forged = [
        line for line in text.splitlines() if line.startswith(("::error file=README", "::stop"))
    ]
    assert forged == [], f"{output} forges a workflow command: {forged}"
    assert "\x1b" not in text and "\u202e" not in text, f"{output} holds a raw control"
    assert "\r" not in text, f"{output} holds a raw carriage return"


def test_an_unexpected_errors_words_mask_the_profiles_declared_secrets(tmp_path: Path) -> None:
    """The CLI's last resort (an error nobody expected, a bug) quotes its words: a declared
    secret among them is masked like the environment's token, once the plan builder has
    read the profiles that declare it."""
    (tmp_path / "profiles.yaml").write_text(
        "version: 1\nprofiles:\n  default:\n    secrets: [pin]\n"
        '    vars: {pin: "FORTNIGHTLY"}\n    defaults: {from: "+14155550100"}\n'
    )
    spec = tmp_path / "calls.yaml"
    spec.write_text(
        "version: 1\ncalls:\n  - name: page\n    to: '+14155550101'\n"
        "    answer_url: https://hooks.example.com/a.xml\n"
    )

    @click.command()
    @handled
    def buggy() -> None:
        build_plan([spec], PlanOptions(), {"PLIVO_AUTH_TOKEN": TOKEN})
        raise ValueError(f"got: FORTNIGHTLY (token {TOKEN})")  # a bug quoting both

    result = CliRunner().invoke(buggy, [], env={"PLIVO_AUTH_TOKEN": TOKEN})
    assert result.stderr == "callspec: internal error: ValueError: got: *** (token ***)\n"
