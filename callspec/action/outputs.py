"""The step's outputs: what they are for each command, and how they reach ``$GITHUB_OUTPUT``.

Every output is written on every ending, a usage error included (then
``exit-code`` is 2 and every count 0), so a workflow's next step never reads a
value left unset.  ``run`` reads its counts from the run's own JSON report in a
fresh folder: never a report an earlier run left behind.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from callspec.action.verdicts import ANSWER_COUNTS, ChainVerdict, chain_verdicts, report_counts

#: The report summary's counts, as outputs of the same names.
SUMMARY_COUNTS = ("fired", "queued", "failed", "unknown", "skipped", "invalid")
#: The outputs counting escalation chains by verdict (``planned`` chains are in none).
CHAIN_COUNTS = {
    "acknowledged": "escalations-acknowledged",
    "answered": "escalations-answered",
    "unanswered": "escalations-unanswered",
    "stopped": "escalations-stopped",
}


@dataclass(frozen=True)
class StepOutputs:
    """Everything the step outputs, whatever the command did."""

    exit_code: int
    #: The summary's counts (zeros for what a command does not do).
    counts: Mapping[str, int] = field(default_factory=dict)
    #: The JSON report's path; empty when the run wrote none.
    report: str = ""
    escalations: tuple[ChainVerdict, ...] = ()

    def items(self) -> list[tuple[str, str]]:
        """(name, value) for every output, in a stable order."""
        counts = {name: self.counts.get(name, 0) for name in (*SUMMARY_COUNTS, *ANSWER_COUNTS)}
        for verdict, name in CHAIN_COUNTS.items():
            counts[name] = sum(1 for e in self.escalations if e.verdict == verdict)
        chains = [e.document() for e in self.escalations]
        return [
            ("exit-code", str(self.exit_code)),
            *((name, str(n)) for name, n in counts.items()),
            ("escalations", json.dumps(chains, ensure_ascii=True, separators=(",", ":"))),
            ("report", self.report),
        ]


def outputs_of_report(path: Path, exit_code: int) -> StepOutputs:
    """The outputs of a run from its JSON report at ``path``; only ``exit_code`` when the
    run wrote no report (it stopped before its end: a usage error, a refusal)."""
    from callspec.report.json import validate_report

    try:
        doc: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return StepOutputs(exit_code)
    if not isinstance(doc, dict) or validate_report(doc):
        return StepOutputs(exit_code)
    counts = {**doc["summary"], **report_counts(doc)}
    return StepOutputs(exit_code, counts, str(path), chain_verdicts(doc))


def write_outputs(target: str, outputs: Iterable[tuple[str, str]]) -> None:
    """Append ``outputs`` to the ``$GITHUB_OUTPUT`` file ``target``: ``name=value``, or
    GitHub's multi-line form (``name<<DELIMITER``) for a value holding a line break."""
    lines = []
    for name, value in outputs:
        if "\n" in value or "\r" in value:
            delimiter = f"callspec_{secrets.token_hex(8)}"
            lines += [f"{name}<<{delimiter}", value, delimiter]
        else:
            lines.append(f"{name}={value}")
    with open(target, "a", encoding="utf-8", errors="surrogateescape") as f:
        f.write("".join(f"{line}\n" for line in lines))
