"""``escalate:``: turning one spec entry into the steps of a chain, and what makes one sound.

A chain's steps are the calls one entry expands to, in order: its roster's
rows (``each:``), and within a call the destinations of ``to`` one at a time
(``to: [a, b, c]`` with ``escalate:`` pages a, then b, then c, instead of a
bulk call ringing all three at once).  This module owns that split and the
checks that make a chain mean what it says: ``until: human`` needs
``machine_detection: hangup`` (without it a voicemail is indistinguishable
from a person in Plivo's detail record), and a chain needs more than one step
to call (or a roster, whose length is known only once it is read), and a step
name (``page[2]``) no other call of the file already has.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from callspec.errors import Location, Problem
from callspec.spec.model import CallPlan, Escalation, Until


def escalation_of(call: Mapping[str, Any], chain: str, spec_path: str) -> Escalation:
    """The ``escalate:`` of a spec entry ``call`` (schema-checked) in the file whose identity
    is ``spec_path``, named ``chain`` for people; its step numbers still to come."""
    entry = call["escalate"]
    until: Until = entry.get("until", "answered")
    key = chain_key(spec_path, str(call["name"]))
    repeat = call.get("repeat") or {}
    rounds = 1 + int(repeat.get("times", 0))
    after = float(repeat.get("after", 0))
    return Escalation(
        float(entry["answer_within"]), until, chain, key=key, rounds=rounds, after=after
    )


def chain_key(spec_path: str, name: str) -> str:
    """A chain's identity across runs: its spec file (relative to its work tree) and its
    entry's ``name`` as written (``page-{{ row.name }}``, before any row renders it).

    Not its line: comments, blank lines and other calls added above it, and rows
    reordered, added or removed, leave it the same chain.  Hashed, like a call's key: a
    name may hold a declared secret, and the journal keeps identities unmasked.
    """
    import hashlib  # with the first chain: validate of a spec without one never needs it

    canonical = json.dumps(["escalate", spec_path, name], separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:24]


def escalation_problem(
    escalate: Escalation, body: Mapping[str, Any], has_roster: bool, has_ack: bool = False
) -> tuple[str, str] | None:
    """(key under ``escalate``, message) when the chain cannot mean what it says; else None."""
    if escalate.until == "acknowledged" and not has_ack:
        return (
            "until",
            "until: acknowledged needs ack (and message) on the call: the key that "
            "acknowledges, and callspec's answer service to collect it",
        )
    if escalate.until == "human" and str(body.get("machine_detection", "")).lower() != "hangup":
        return (
            "until",
            "until: human needs machine_detection: hangup on the call (else a voicemail "
            "answering cannot be told from a person)",
        )
    to = body.get("to")
    if not has_roster and not (isinstance(to, str) and "<" in to):
        return (
            "",
            "escalate needs several calls to go through one at a time: a roster (each:) "
            "or several destinations in 'to'",
        )
    return None


def steps_of(call: CallPlan) -> list[CallPlan]:
    """``call`` as chain steps: one per destination of its ``to``, named ``name[n]`` when
    there are several (each step's name and body make its own journal identity)."""
    to = call.body.get("to")
    if call.escalate is None or not isinstance(to, str) or "<" not in to:
        return [call]
    destinations = to.split("<")
    return [
        replace(call, name=f"{call.name}[{n}]", body={**call.body, "to": destination})
        for n, destination in enumerate(destinations, 1)
    ]


def step_name_clashes(calls: list[CallPlan]) -> list[Problem]:
    """A step named ``name[n]`` that another call of its file is also named: refused (a
    journal matches calls by file and name, so on resume one would stand for the other,
    and the step would never ring)."""
    first: dict[tuple[str, str], CallPlan] = {}
    problems = []
    for call in calls:
        other = first.setdefault((call.spec_file, call.name), call)
        if other is call:
            continue
        step = call if call.escalate is not None else other
        message = (
            f"duplicate call name '{call.name}' (first at line {other.line}): a step of the "
            f"escalation at line {step.line} is named so; rename the other call"
        )
        problems.append(Problem(Location(call.spec_file, call.line, 5), "", message))
    return problems


def number_steps(calls: list[CallPlan]) -> list[CallPlan]:
    """Each chain's steps numbered in plan order (``step`` of ``steps``), per round."""
    sizes: dict[tuple[str, int], int] = {}
    for call in calls:
        if call.escalate is not None:
            round_of = (call.escalate.chain, call.escalate.round)
            sizes[round_of] = sizes.get(round_of, 0) + 1
    seen: dict[tuple[str, int], int] = {}
    numbered = []
    for call in calls:
        if call.escalate is not None:
            round_of = (call.escalate.chain, call.escalate.round)
            seen[round_of] = seen.get(round_of, 0) + 1
            escalate = replace(call.escalate, step=seen[round_of], steps=sizes[round_of])
            call = replace(call, escalate=escalate)
        numbered.append(call)
    return numbered
