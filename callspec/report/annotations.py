"""A run's report as GitHub annotations (workflow commands), one per thing that went wrong.

``callspec report R.json --format github`` prints them on stdout for a job's log:
each problem of an invalid spec at its file, line and column; each call that
failed or whose outcome is unknown (an error), and each followed destination
nobody answered (an error; a warning when ``--wait-ok no-answer`` allowed it or
a later step of its escalation answered), at the call's line; each failed URL
check at the first call using it; then a notice with the totals line.  Every
value passes the text rule before GitHub's own escaping.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TextIO

from callspec.errors import Location
from callspec.redact import Redactor
from callspec.report.base import Reporter, shown
from callspec.report.checks import check_verdict
from callspec.report.problems import workflow_command
from callspec.report.text import Chains, answer_of, totals_line
from callspec.results import answer_text

Doc = Mapping[str, Any]
Level = Literal["error", "warning", "notice"]


class AnnotationsReporter(Reporter):
    """GitHub's workflow commands: what went wrong, where, then the totals."""

    def render(self, report: Doc, redactor: Redactor, stream: TextIO) -> None:
        lines = []
        for p in report["problems"]:
            where = Location(shown(p["file"], redactor), p["line"], p["column"])
            title = f"callspec: {shown(p['path'], redactor)}" if p["path"] else "callspec"
            lines.append(workflow_command("error", shown(p["message"], redactor), where, title))
        for c in report.get("checks") or ():
            if not c["ok"]:
                file, line = (
                    (c["calls"][0]["spec_file"], c["calls"][0]["line"]) if c["calls"] else ("", 0)
                )
                where = Location(shown(file, redactor), int(line), 1)
                said = shown(f"{c['kind']} {c['method']} {c['url']}: {check_verdict(c)}", redactor)
                lines.append(workflow_command("error", said, where, f"callspec: {c['kind']}"))
        no_answer_ok = "no-answer" in (report["options"].get("wait_ok") or ())
        chains, unanswered = Chains(report), list[tuple[Doc, bool | None, str]]()
        for call in report["calls"]:  # read once: a large run's are built one at a time
            lines += _call_commands(call, redactor, unanswered)
        for call, answered, line in unanswered:  # a chain's verdict is known once all is read
            chain = (call.get("escalate") or {}).get("chain")
            ended = chains.reached(chain)
            allowed = ended or (answered is False and no_answer_ok)
            where = Location(shown(call["spec_file"], redactor), call["line"])
            level: Level = "warning" if allowed else "error"
            lines.append(workflow_command(level, line, where, _title(call, redactor)))
        lines.append(workflow_command("notice", totals_line(report)))
        for line in lines:
            stream.write(line + "\n")


def _title(call: Doc, redactor: Redactor) -> str:
    return f"callspec: {shown(call['name'], redactor)}"


def _call_commands(
    call: Doc, redactor: Redactor, unanswered: list[tuple[Doc, bool | None, str]]
) -> list[str]:
    """An error for a call that failed, is unknown or invalid; its unanswered destinations
    set aside with whether they were (False) or could not be told (None): their level depends
    on the rest of the run."""
    lines = []
    if call["outcome"] in ("failed", "unknown", "invalid"):
        text = call["error"] or call["reason"] or call["message"] or "no error text"
        said = shown(f"{call['outcome']}: {text}", redactor)
        where = Location(shown(call["spec_file"], redactor), call["line"])
        lines.append(workflow_command("error", said, where, _title(call, redactor)))
    answers = call.get("answers") or ()
    for a in answers:
        if not a["answered"]:
            to = f"{a['to']}: " if a["to"] and len(answers) > 1 else ""
            said = shown(f"{to}{answer_text(answer_of(a))}", redactor)
            unanswered.append((call, a["answered"], said))
    return lines
