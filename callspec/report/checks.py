"""URL checks in the outputs: the terminal table, the totals line, JUnit testcases.

Shared by ``callspec check`` and ``run --check``; each renders the checks' documents (the
JSON report's ``checks`` items, :func:`callspec.check.checker.document_of`), and every
value shown passes :func:`~callspec.report.base.shown`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from callspec.redact import Redactor
from callspec.report.base import shown

if TYPE_CHECKING:
    import xml.etree.ElementTree as ET

Check = Mapping[str, Any]


def check_verdict(check: Check) -> str:
    """What the check found, in a few words (``valid Plivo XML``, ``HTTP 500``...)."""
    # The check stage's model (its dataclasses) loads for a report that has checks, not for
    # every run's terminal summary.
    from callspec.check.model import verdict

    return verdict(check["error"], check["xml"], len(check["xml_problems"]))


def _problem(problem: Mapping[str, Any]) -> str:
    return f"{problem['line']}:{problem['column']}: {problem['message']}"


def check_rows(checks: Iterable[Check], redactor: Redactor) -> list[str]:
    """One aligned line per URL: ok/FAIL, kind, method, URL, status, type, time, verdict."""
    table = []
    for c in checks:
        kind = c["kind"] if c["kind"] != "redirect" else "<Redirect>"
        status = str(c["status"]) if c["status"] is not None else "-"
        ctype = (c["content_type"] or "-").split(";")[0]
        cells = ("ok" if c["ok"] else "FAIL", kind, c["method"], c["url"], status, ctype)
        table.append(
            (*(shown(x, redactor) for x in cells), f"{c['time_ms']:.0f} ms", check_verdict(c))
        )
    if not table:
        return []
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]) - 1)]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=False))
        + "  "
        + shown(row[-1], redactor)
        for row in table
    ]


def check_totals(checks: Sequence[Check]) -> str:
    """``checked 3 URLs: 2 ok, 1 failed``."""
    return totals_words(len(checks), sum(1 for c in checks if not c["ok"]))


def totals_words(checked: int, failed: int) -> str:
    """``checked 3 URLs: 2 ok, 1 failed``, from the counts."""
    s = "s" if checked != 1 else ""
    return f"checked {checked} URL{s}: {checked - failed} ok, {failed} failed"


def check_cells(check: Check) -> tuple[str, ...]:
    """A check as the Markdown summary's row: ok/FAIL, argument, method, URL, status, verdict
    (with its first three XML problems)."""
    problems = [_problem(p) for p in check["xml_problems"][:3]]
    return (
        "ok" if check["ok"] else "FAIL",
        check["kind"],
        check["method"],
        check["url"],
        str(check["status"]) if check["status"] is not None else "-",
        "; ".join([check_verdict(check), *problems]),
    )


def junit_checks(root: ET.Element, checks: Sequence[Check], clean: Callable[[str], str]) -> None:
    """One testsuite ``callspec check``, one testcase per URL, a failure per failed check."""
    if not checks:
        return
    import xml.etree.ElementTree as ET  # the XML writer loads with a JUnit file only

    suite = ET.SubElement(root, "testsuite", name="callspec check")
    failures = 0
    for c in checks:
        case = ET.SubElement(suite, "testcase", classname="callspec check")
        case.set("name", clean(f"{c['kind']} {c['method']} {c['url']}"))
        case.set("time", f"{c['time_ms'] / 1000:.3f}")
        if c["ok"]:
            continue
        failures += 1
        failure = ET.SubElement(case, "failure", type="check", message=clean(check_verdict(c)))
        lines = [check_verdict(c), *(_problem(p) for p in c["xml_problems"])]
        failure.text = clean("\n".join(lines))
    suite.set("tests", str(len(checks)))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    suite.set("skipped", "0")
    suite.set("time", f"{sum(c['time_ms'] for c in checks) / 1000:.3f}")
