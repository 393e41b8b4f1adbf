"""Golden outputs: what every command prints and writes, compared byte for byte.

Each case runs one ``callspec`` command in-process (click's CliRunner) in a temporary
copy of ``specs/`` and ``tests/examples/``, with a fixed environment, and compares
exit code, stdout, stderr and every file the command wrote (report, JUnit, journal)
with its recording, ``tests/golden/<case>.txt``. The cases: ``--version``, ``--help``
of the group and of every command, ``schema`` and each schema; for ``specs/`` (the
folder and each file): ``validate``, ``render --format json|yaml|curl``, ``run --dry-run
--report --junit`` and ``explain`` (text and JSON); one ``run specs/ --sandbox``; and
from ``tests/examples/`` one recording per command and format: those five commands on
the ``valid/`` folder, and ``run --dry-run`` (its report and JUnit file of problems) on
one invalid example.  An invalid example's message is pinned once, by its ``# expect:``
header (tests/spec/test_examples.py), not here again.

Re-record after an intended change, then review ``git diff tests/golden``::

    python -m pytest tests/cli/test_golden.py --update-golden    # or CALLSPEC_UPDATE_GOLDEN=1

Only what differs from run to run is masked, each with a stable placeholder:
the temporary folder (``<tmp>``); in ``run`` outputs ISO times (``<time>``), run ids
(``<run-1>``), the keys made with the spec's absolute path (``abs_key``, ``<key-1>``; the
identity ``key`` is relative to the work tree and stays as it is) and the
run's wall time (``<s> s``); in the sandbox run also the sandbox's port
(``127.0.0.1:<port>``), its UUIDs (``<uuid-1>``: request_uuid, api_id) and the
measured durations (``<ms>``; JUnit ``time="<s>"``). Placeholders are numbered in
order of first appearance within a case, so a UUID in the table, the report, the JUnit
file and the journal keeps one number.
"""

from __future__ import annotations

import difflib
import os
import re
import shlex
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from callspec.cli import cli
from callspec.cli.app import COMMANDS as CLI_COMMANDS

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "golden"
RERECORD = "python -m pytest tests/cli/test_golden.py --update-golden"

# The whole environment of every case: nothing of the developer's shell or of CI
# (GITHUB_STEP_SUMMARY, CALLSPEC_PROFILES, PAGER_PIN, proxies, COLUMNS) leaks in.
AUTH_ID = "MAGOLDEN000000000000"
TOKEN = "golden-token-not-a-secret-0000"


def fixed_environment(home: Path) -> dict[str, str]:
    return {
        "PATH": os.defpath,
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TZ": "UTC",
        "COLUMNS": "80",
        "PLIVO_AUTH_ID": AUTH_ID,
        "PLIVO_AUTH_TOKEN": TOKEN,
    }


# --- the cases ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str  # the recording is tests/golden/<name>.txt
    cwd: str  # where the command runs, relative to the workspace ("" is the workspace)
    args: tuple[str, ...]
    sandbox: bool = False  # masks the sandbox's port, UUIDs and measured durations

    @property
    def golden(self) -> Path:
        return GOLDEN / f"{self.name}.txt"


RUN_OUTPUTS = ("--report", "out/report.json", "--junit", "out/junit.xml")
COMMANDS: dict[str, tuple[str, ...]] = {
    "validate": ("validate",),
    "render-json": ("render", "--format", "json"),
    "render-yaml": ("render", "--format", "yaml"),
    "render-curl": ("render", "--format", "curl"),
    "run-dry-run": ("run", "--dry-run", *RUN_OUTPUTS),
}


def path_cases(prefix: str, cwd: str, path: str) -> list[Case]:
    """The five commands for one spec path (a file or a folder), recorded under prefix + path."""
    base = f"{prefix}{path}".rstrip("/")
    return [
        Case(f"{base}/{label}", cwd, (command, path, *options))
        for label, (command, *options) in COMMANDS.items()
    ]


def relative_paths(folder: Path) -> tuple[list[str], list[str]]:
    """Every folder and every file below ``folder``, relative and sorted."""
    folders: list[str] = []
    files: list[str] = []
    for top, dirnames, filenames in os.walk(folder):
        prefix = Path(top).relative_to(folder).as_posix() + "/"
        prefix = "" if prefix == "./" else prefix
        folders += (prefix + name for name in dirnames)
        files += (prefix + name for name in filenames)
    return sorted(folders), sorted(files)


def all_cases() -> list[Case]:
    cases = [
        Case("cli/version", "", ("--version",)),
        Case("cli/help", "", ("--help",)),
        *(Case(f"cli/{name}-help", "", (name, "--help")) for name in sorted(CLI_COMMANDS)),
        Case("cli/schema", "", ("schema",)),
        *(
            Case(f"cli/schema-{n}", "", ("schema", n))
            for n in ("call", "spec", "profiles", "report")
        ),
    ]
    # specs/: run from the workspace, so paths print as in the README (specs/seed.yaml).
    cases += path_cases("", "", "specs/")
    for file in relative_paths(REPO / "specs")[1]:
        cases += path_cases("", "", f"specs/{file}")
    # explain: the examples and the precedence example with every variable level.
    cases.append(Case("specs/explain", "", ("explain", "specs/")))
    cases.append(Case("specs/explain-json", "", ("explain", "specs/", "--format", "json")))
    # Not at the profile's 2/s; one worker, so the calls end in the plan's order.
    sandbox_run = ("run", "specs/", "--sandbox", "--rate", "200", "--concurrency", "1")
    sandbox_run += RUN_OUTPUTS
    cases.append(Case("specs/run-sandbox", "", sandbox_run, sandbox=True))
    # tests/examples/: run from inside it, as tests/spec/test_examples.py does (valid/x.yaml).
    # Every command on the valid/ folder (the bodies of every valid example), and the
    # report and JUnit file of a run refused for its problems; an invalid example's own
    # lines are its `# expect:` header's to pin.
    cases += path_cases("examples/", "examples", "valid")
    refused = ("run", "multi/three-defects.yaml", *COMMANDS["run-dry-run"][1:])
    cases.append(Case("examples/multi/three-defects.yaml/run-dry-run", "examples", refused))
    names = [case.name for case in cases]
    assert len(names) == len(set(names)), "two cases share a recording"
    return cases


CASES = all_cases()


# --- running a case ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of specs/ and tests/examples/ (as examples/) to run the cases in."""
    root = tmp_path_factory.mktemp("golden")
    shutil.copytree(REPO / "specs", root / "specs")
    shutil.copytree(REPO / "tests" / "examples", root / "examples")
    # callspec looks for the nearest profiles.yaml upward without bound: one above the
    # workspace would change what the examples without a profiles file resolve to.
    stray = [
        parent / name
        for parent in root.resolve().parents
        for name in ("profiles.yaml", "profiles.yml")
        if (parent / name).exists()
    ]
    if stray:
        pytest.fail(f"golden outputs would depend on {stray[0]}; remove it", pytrace=False)
    return root


def run_case(case: Case, root: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the case; its outputs as the text of a recording (masked)."""
    cwd = root / case.cwd
    folders_before, files_before = (set(paths) for paths in relative_paths(cwd))
    for name in list(os.environ):
        monkeypatch.delenv(name)
    for name, value in fixed_environment(root).items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(cwd)
    try:
        result = CliRunner().invoke(cli, list(case.args), prog_name="callspec", terminal_width=80)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception  # a traceback would reach a user: never record it
        written = [f for f in relative_paths(cwd)[1] if f not in files_before]
        parts = [
            f"$ {f'cd {case.cwd} && ' if case.cwd else ''}callspec {shlex.join(case.args)}\n",
            f"exit code: {result.exit_code}\n",
            section("stdout", result.stdout_bytes),
            section("stderr", result.stderr_bytes),
            *(section(f"file {f}", (cwd / f).read_bytes()) for f in written),
        ]
    finally:  # leave the workspace as it was for the next case
        folders, files = relative_paths(cwd)
        for f in files:
            if f not in files_before:
                (cwd / f).unlink()
        for folder in reversed(folders):
            if folder not in folders_before:
                (cwd / folder).rmdir()
    return mask("".join(parts), root, case)


def section(title: str, data: bytes) -> str:
    """``--- title`` and the bytes as they are (a missing final newline is said)."""
    text = data.decode("utf-8", "surrogateescape")
    if text and not text.endswith("\n"):
        text += "\n\\ No newline at end\n"
    return f"--- {title}\n{text}"


# --- masking -----------------------------------------------------------------------------


class Numbered:
    """Replaces each distinct match by ``<prefix-N>``, N in order of first appearance."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.seen: dict[str, int] = {}

    def __call__(self, value: str) -> str:
        n = self.seen.setdefault(value, len(self.seen) + 1)
        return f"<{self.prefix}-{n}>"


TIME = re.compile(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z")
RUN_ID = re.compile(r'(?<="run_id": ")[0-9a-f]{12}(?=")|(?<="run_id":")[0-9a-f]{12}(?=")')
KEY = re.compile(r'(?<="abs_key": ")[0-9a-f]{24}(?=")|(?<="abs_key":")[0-9a-f]{24}(?=")')
WALL_TIME = re.compile(r"(?<=\(mode )([a-z-]+), \d+\.\d\d s\b")
PORT = re.compile(r"\b127\.0\.0\.1:\d+")
UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
DURATION = re.compile(r'(?<="duration_ms": )\d+(?:\.\d+)?(?:e-?\d+)?')
JUNIT_TIME = re.compile(r'(?<= time=")\d+\.\d+(?=")')
PROGRESS_MS = re.compile(r"^(\[\d+/\d+\] .*? )\d+( ms)", re.M)
# A row of the summary table; its last column (time in ms) is right-aligned.
TABLE_MS = re.compile(r"^(\S+:\S+ +(?:fired|queued|failed|unknown|skipped) .*?)( +\d+)$", re.M)


def mask(text: str, root: Path, case: Case) -> str:
    for prefix in sorted({str(root.resolve()), str(root)}, key=len, reverse=True):
        text = text.replace(prefix, "<tmp>")
    if case.args[0] == "run":
        text = TIME.sub("<time>", text)
        text = sub_numbered(RUN_ID, Numbered("run"), text)
        text = sub_numbered(KEY, Numbered("key"), text)
        text = WALL_TIME.sub(r"\1, <s> s", text)
    if case.sandbox:
        text = PORT.sub("127.0.0.1:<port>", text)
        text = sub_numbered(UUID, Numbered("uuid"), text)
        text = DURATION.sub("<ms>", text)
        text = JUNIT_TIME.sub("<s>", text)
        text = PROGRESS_MS.sub(r"\1<ms>\2", text)
        text = TABLE_MS.sub(lambda m: m[1] + " " + "<ms>".rjust(len(m[2]) - 1), text)
    return text


def sub_numbered(pattern: re.Pattern[str], name: Callable[[str], str], text: str) -> str:
    return pattern.sub(lambda m: name(m[0]), text)


# --- the tests ---------------------------------------------------------------------------


def updating(config: pytest.Config) -> bool:
    option = bool(config.getoption("--update-golden", default=False))
    return option or os.environ.get("CALLSPEC_UPDATE_GOLDEN") == "1"


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_golden(
    case: Case, workspace: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    update = updating(request.config)  # before run_case replaces the environment
    actual = run_case(case, workspace, monkeypatch).encode("utf-8", "surrogateescape")
    recorded = case.golden.read_bytes() if case.golden.exists() else None
    same = recorded == actual
    if update:
        if not same:
            case.golden.parent.mkdir(parents=True, exist_ok=True)
            case.golden.write_bytes(actual)
        return
    where = case.golden.relative_to(REPO)
    if recorded is None:
        pytest.fail(f"{where}: no recording; record it with: {RERECORD}", pytrace=False)
    if not same:
        diff = difflib.unified_diff(
            recorded.decode("utf-8", "replace").splitlines(keepends=True),
            actual.decode("utf-8", "replace").splitlines(keepends=True),
            fromfile=f"{where} (recorded)",
            tofile=f"{where} (now)",
        )
        order = " (only the order of lines differs)" if same_lines(actual, recorded) else ""
        pytest.fail(
            f"output of `{shlex.join(case.args)}` changed{order}:\n{''.join(diff)}"
            f"(if the change is intended: {RERECORD})",
            pytrace=False,
        )


def same_lines(a: bytes, b: bytes) -> bool:
    return sorted(a.splitlines()) == sorted(b.splitlines())


def test_no_stale_recordings(request: pytest.FixtureRequest) -> None:
    """Every recording belongs to a case (a removed case takes its recording along)."""
    stale = sorted(set(GOLDEN.rglob("*.txt")) - {case.golden for case in CASES})
    if updating(request.config):
        for path in stale:
            path.unlink()
        for folder in sorted(GOLDEN.rglob("*"), reverse=True):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        return
    if stale:
        listed = "\n".join(str(path.relative_to(REPO)) for path in stale)
        pytest.fail(f"recordings without a case (remove them: {RERECORD}):\n{listed}", False)
