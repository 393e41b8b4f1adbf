"""A cancelled job: the runner's SIGINT reaches callspec, which sends nothing new, finishes
the call in flight and writes its report; the step's outputs still follow.

The runner signals a step's entry process only (bash for ``run:``): ``action.yml``
``exec``\\s the step's Python, which passes the signal on to callspec once.  The
project's API holds the first call's answer until callspec has said it is stopping.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import yaml
from github_runner import action, job, read_output_file
from support import answering, cred_env, write_spec

from callspec.errors import ExitCode


def test_a_cancel_finishes_the_call_in_flight_and_sends_nothing_more(tmp_path: Path) -> None:
    arrived, release = threading.Event(), threading.Event()

    def hold(handler: BaseHTTPRequestHandler, n: int) -> tuple[int, dict[str, str], bytes]:
        arrived.set()
        release.wait(60)
        body = {"api_id": "a", "message": "call fired", "request_uuid": f"uuid-{n}"}
        return 201, {"Content-Type": "application/json"}, json.dumps(body).encode()

    project = tmp_path / "repo"
    project.mkdir()
    write_spec(project, 3, answer_url="https://hooks.example.com/a")
    with answering(hold) as (url, log):
        profiles = {"version": 1, "profiles": {"default": {"api_url": url, "rate": 100}}}
        (project / "profiles.yaml").write_text(yaml.safe_dump(profiles))
        inputs = {"command": "run", "paths": "calls.yaml", "argv": "--concurrency\n1"}
        run = job(tmp_path, project, inputs, cred_env())
        [(n, step)] = [
            (n, s) for n, s in enumerate(action()["runs"]["steps"]) if s.get("id") == "callspec"
        ]
        argv, env, output = run.command(n, step)
        step_process = subprocess.Popen(
            argv, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            assert arrived.wait(60)  # the first call is in flight
            step_process.send_signal(signal.SIGINT)  # to the step's entry process only
            assert step_process.stderr is not None
            for line in step_process.stderr:  # until callspec says the signal reached it
                if "callspec: stopping" in line:
                    break
            release.set()
            step_process.communicate(timeout=60)
        finally:
            release.set()
            if step_process.poll() is None:
                step_process.kill()
    assert step_process.returncode == ExitCode.INTERRUPTED
    outputs = read_output_file(output)
    assert {k: outputs[k] for k in ("exit-code", "fired", "skipped")} == {
        "exit-code": "130",
        "fired": "1",
        "skipped": "2",
    }
    assert len(log) == 1  # the call in flight, and nothing after it
    report = json.loads(Path(outputs["report"]).read_text())
    assert (report["interrupted"], report["summary"]["fired"]) == (True, 1)
