"""The step itself: callspec run once with the parsed inputs, then the outputs written.

callspec runs as a child process of this interpreter (the action's own
virtual environment), given its arguments as a list: no shell sees an input.
The paths come last, after ``--``, so a path cannot be read as an option.  The
child gets a session of its own, and a cancelled job's SIGINT or SIGTERM,
which the runner sends to this process only (``action.yml`` ``exec``\\s it),
is passed on to it exactly once: callspec then sends nothing new, lets the
calls in flight finish and writes its report, and the outputs still follow.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from callspec.action.inputs import ENV_PREFIX, InputError, StepInputs, read_inputs
from callspec.action.outputs import StepOutputs, outputs_of_report, write_outputs
from callspec.errors import ExitCode, Location, Problem
from callspec.report.problems import Severity, github_commands


def main(environ: Mapping[str, str], stdout: TextIO) -> int:
    """Run the step as ``action.yml`` does; its exit code is callspec's (2 for bad inputs)."""
    try:
        inputs = read_inputs(environ)
    except InputError as e:
        outputs = refused(e, environ, stdout)
    else:
        outputs = run_command(inputs, environ, stdout)
    target = environ.get("GITHUB_OUTPUT")
    if target:
        write_outputs(target, outputs.items())
    return outputs.exit_code


def refused(error: InputError, environ: Mapping[str, str], stdout: TextIO) -> StepOutputs:
    """An input that cannot be used: an annotation and a summary line say so; nothing runs."""
    problem = Problem(Location(""), f"inputs.{error.input}", f"{error.reason}; nothing was run")
    stdout.writelines(f"{line}\n" for line in github_commands([("error", problem)], environ))
    stdout.flush()
    summary = environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        from callspec.report.markdown import markdown_text

        with open(summary, "a", encoding="utf-8", errors="backslashreplace") as f:
            f.write(f"**callspec**: {markdown_text(f'{problem.path}: {problem.message}')}\n\n")
    return StepOutputs(int(ExitCode.USAGE))


def callspec_argv(inputs: StepInputs, own: Sequence[str]) -> list[str]:
    """The child's command line: the user's arguments, then the step's own (which win:
    the report the outputs read, the format parsed), then ``--`` and the paths."""
    profile = [f"--profile={inputs.profile}"] if inputs.profile else []
    return [
        sys.executable,
        "-m",
        "callspec",
        inputs.command,
        *profile,
        *inputs.extra,
        *own,
        "--",
        *inputs.paths,
    ]


def run_command(inputs: StepInputs, environ: Mapping[str, str], stdout: TextIO) -> StepOutputs:
    """Run callspec's ``inputs.command`` and read what it did."""
    env = {k: v for k, v in environ.items() if not k.startswith(ENV_PREFIX)}
    if inputs.command == "validate":
        code, text = _run(callspec_argv(inputs, ["--format", "json"]), env, capture=True)
        return _validated(code, text, environ, stdout)
    if inputs.command == "check":
        argv = callspec_argv(inputs, ["--format", "github"])
        code, text = _run(argv, env, capture=True, echo=stdout)
        errors = sum(1 for line in text.splitlines() if line.startswith("::error"))
        return StepOutputs(code, {"invalid": errors})
    temp = environ.get("RUNNER_TEMP") or None
    if temp:
        Path(temp).mkdir(parents=True, exist_ok=True)
    # A fresh folder: the outputs never read an earlier run's report.  Its name is the
    # one action.yml's upload step looks for.
    out = Path(tempfile.mkdtemp(prefix="callspec.", dir=temp))
    report = out / "report.json"
    own = ["--no-progress", "--report", str(report), "--junit", str(out / "junit.xml")]
    code, _ = _run(callspec_argv(inputs, own), env, capture=False)
    outputs = outputs_of_report(report, code)
    if report.exists() and not outputs.report:
        stdout.write("::warning title=callspec::the run's JSON report could not be read\n")
    return outputs


def _validated(code: int, text: str, environ: Mapping[str, str], stdout: TextIO) -> StepOutputs:
    """validate's JSON problems, printed as annotations on the pull request's lines."""
    problems: list[tuple[Severity, Problem]] = []
    try:
        for p in json.loads(text):
            where = Location(p["file"], p["line"], p["column"])
            problems.append((p["severity"], Problem(where, p["path"], p["message"])))
    except (ValueError, TypeError, KeyError):  # no JSON list of problems: callspec said why
        problems = []
    stdout.writelines(f"{line}\n" for line in github_commands(problems, environ))
    stdout.flush()
    # A usage error (a path that does not exist, an unknown option) found no invalid spec.
    invalid = 0 if code == ExitCode.USAGE else sum(1 for s, _ in problems if s == "error")
    return StepOutputs(code, {"invalid": invalid})


def _run(
    argv: list[str], env: Mapping[str, str], capture: bool, echo: TextIO | None = None
) -> tuple[int, str]:
    """Run ``argv``; its exit code, and its stdout when ``capture`` (copied to ``echo``
    line by line as it comes, when given).  Its stderr is the step's.  A cancel that
    comes before callspec started starts nothing: 130."""
    sys.stdout.flush()
    lines = []
    with _PassedOn() as signals:
        if signals.pending:
            return int(ExitCode.INTERRUPTED), ""
        child = subprocess.Popen(
            argv,
            env=dict(env),
            stdout=subprocess.PIPE if capture else None,
            text=True,
            encoding="utf-8",
            errors="surrogateescape",
            start_new_session=True,  # a signal reaches it once: the one passed on
        )
        signals.started(child)
        if child.stdout is not None:
            for line in child.stdout:
                lines.append(line)
                if echo is not None:
                    echo.write(line)
                    echo.flush()
        code = child.wait()
    # Killed by a signal (-N): the shell's 128 + N, which a step's exit status can carry.
    return (128 - code if code < 0 else code), "".join(lines)


class _PassedOn:
    """SIGINT and SIGTERM sent to the step, passed on to the child once it is started
    (each exactly once: callspec's second signal means "quit at once")."""

    def __init__(self) -> None:
        self.child: subprocess.Popen[str] | None = None
        #: Signals that came before the child was started.
        self.pending: list[int] = []
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _PassedOn:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._forward)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _forward(self, signum: int, frame: object) -> None:
        if self.child is None:
            self.pending.append(signum)
        else:
            self.child.send_signal(signum)

    def started(self, child: subprocess.Popen[str]) -> None:
        """From now on a signal goes to ``child``; those that came while it started too."""
        self.child = child  # a signal after this line is forwarded by _forward itself
        for signum in self.pending:
            child.send_signal(signum)
