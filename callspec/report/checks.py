"""URL checks in the outputs: the terminal table, the totals line, JUnit testcases.

Shared by ``callspec check`` and ``run --check`` (the JSON report's ``checks`` items come
from :func:`callspec.check.checker.document_of`).  Every string goes through the redactor.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Sequence

from callspec.check.model import UrlCheck
from callspec.redact import Redactor
from callspec.report.base import one_line


def check_rows(checks: Iterable[UrlCheck], redactor: Redactor) -> list[str]:
    """One aligned line per URL: ok/FAIL, kind, method, URL, status, type, time, verdict."""
    table = []
    for c in checks:
        kind = c.kind if c.kind != "redirect" else "<Redirect>"
        status = str(c.status) if c.status is not None else "-"
        ctype = (c.content_type or "-").split(";")[0]
        cells = ("ok" if c.ok else "FAIL", kind, c.method, c.url, status, ctype)
        table.append(
            (*(one_line(redactor.text(x)) for x in cells), f"{c.elapsed_ms:.0f} ms", c.verdict())
        )
    if not table:
        return []
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]) - 1)]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=False))
        + "  "
        + one_line(redactor.text(row[-1]))
        for row in table
    ]


def check_totals(checks: Sequence[UrlCheck]) -> str:
    """``checked 3 URLs: 2 ok, 1 failed``."""
    failed = sum(1 for c in checks if not c.ok)
    n = len(checks)
    return f"checked {n} URL{'s' if n != 1 else ''}: {n - failed} ok, {failed} failed"


def junit_checks(root: ET.Element, checks: Sequence[UrlCheck], clean: Callable[[str], str]) -> None:
    """One testsuite ``callspec check``, one testcase per URL, a failure per failed check."""
    if not checks:
        return
    suite = ET.SubElement(root, "testsuite", name="callspec check")
    failures = 0
    for c in checks:
        case = ET.SubElement(suite, "testcase", classname="callspec check")
        case.set("name", clean(f"{c.kind} {c.method} {c.url}"))
        case.set("time", f"{c.elapsed_ms / 1000:.3f}")
        if c.ok:
            continue
        failures += 1
        failure = ET.SubElement(case, "failure", type="check", message=clean(c.verdict()))
        lines = [c.verdict(), *(str(p) for p in c.problems)]
        failure.text = clean("\n".join(lines))
    suite.set("tests", str(len(checks)))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    suite.set("skipped", "0")
    suite.set("time", f"{sum(c.elapsed_ms for c in checks) / 1000:.3f}")
