"""A saved JSON report's calls read back as the results they were made from.

:func:`run_of_report` turns a report document (one ``validate_report`` accepts)
back into a :class:`~callspec.results.RunResult`: each call's outcome, request
UUID, answers (with their acknowledgements), escalation step and message, so the
rules that made the run's verdicts (:mod:`callspec.delivery.verdicts`, the
escalation policy) make them again from the report, with no second copy of them:
``callspec report`` of a report written before chains were, and the Action's
outputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from callspec.delivery.entries import answers_of
from callspec.results import CallResult, RunResult
from callspec.spec.model import Ack, Escalation, Message


def run_of_report(doc: Mapping[str, Any]) -> RunResult:
    """The parts of a run its verdicts are made of, from its JSON report."""
    return RunResult(
        run_id=doc["run_id"],
        mode=doc["mode"],
        api_url=doc["api_url"],
        started=doc["started"],
        finished=doc["finished"],
        options=doc["options"],
        calls=tuple(_call_of(call) for call in doc["calls"]),
    )


def _call_of(doc: Mapping[str, Any]) -> CallResult:
    step = doc.get("escalate")
    prompt = doc.get("prompt")
    return CallResult(
        key=doc["key"],
        spec_file=doc["spec_file"],
        line=doc["line"],
        name=doc["name"],
        tags=tuple(doc["tags"]),
        profile_chain=tuple(doc["profile_chain"]),
        body=doc["body"],
        outcome=doc["outcome"],
        status=doc["status"],
        request_uuid=doc["request_uuid"],
        api_id=doc["api_id"],
        message=doc["message"],
        error=doc["error"],
        reason=doc["reason"],
        answers=answers_of(doc["answers"]) if "answers" in doc else None,
        escalate=_escalation_of(step) if step is not None else None,
        prompt=_message_of(prompt) if prompt is not None else None,
        service=prompt.get("service") if prompt is not None else None,
        registration=prompt.get("registration") if prompt is not None else None,
    )


def _escalation_of(step: Mapping[str, Any]) -> Escalation:
    """A report's ``escalate`` object as the step it was made from (the report also says
    whether the step ``reached`` its callee: the policy's own verdict, not a field of it)."""
    known = {f.name for f in fields(Escalation)}
    return Escalation(**{k: v for k, v in step.items() if k in known})


def _message_of(prompt: Mapping[str, Any]) -> Message:
    ack = prompt.get("ack")
    return Message(
        prompt["message"],
        prompt["voice"],
        prompt["language"],
        None if ack is None else Ack(ack["digit"], ack["within"]),
    )
