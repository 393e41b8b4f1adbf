"""A chain's verdict in words: the one sentence the terminal, the HTML page, the step
summary, JUnit and the Action's outputs say it with.

Made from a chain of the report document (its ``chains``), so every output and
``callspec report`` say the same:
``acknowledged by 'page-ben' at 2026-12-07 12:13:38 UTC, row 2 of 3, after 'page-ana':
no answer, 'page-cleo': not called``.  Values come masked from the document; each
reporter applies the rest of the text rule where it writes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

Doc = Mapping[str, Any]

#: How each step's fate (:data:`callspec.delivery.verdicts.Fate`) reads.
FATE_WORDS = {
    "acknowledged": "acknowledged",
    "answered": "answered",
    "no-key": "answered, no key pressed",
    "wrong-key": "answered, a wrong key",
    "late-key": "answered, the key too late",
    "ack-unknown": "answered; acknowledgement unknown (not read from the answer service)",
    "machine": "voicemail",
    "no-answer": "no answer",
    "busy": "busy",
    "unknown": "state unknown",
    "failed": "not placed (failed)",
    "held": "held (quiet hours)",
    "cooldown": "skipped (called recently)",
    "not-called": "not called",
    "planned": "planned",
}
#: Steps named in one sentence; the rest are counted.
MAX_LISTED = 20


def when(moment: str | None) -> str:
    """``2026-12-07 12:13:38 UTC`` from an ISO 8601 time (as written when it is none)."""
    if not moment:
        return "an unknown time"
    try:
        parsed = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    except ValueError:
        return moment
    if parsed.tzinfo is None:
        return moment
    return parsed.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _fates(steps: Sequence[Doc]) -> str:
    shown = [f"'{s['name']}': {FATE_WORDS.get(s['fate'], s['fate'])}" for s in steps[:MAX_LISTED]]
    more = len(steps) - MAX_LISTED
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def chain_words(chain: Doc) -> str:
    """The chain's verdict, who decided it and when, then what became of the others."""
    verdict, steps, by = chain["verdict"], list(chain["steps"]), chain["by"]
    if verdict == "planned":
        order = " -> ".join(f"'{s['name']}' ({s['to']})" for s in steps[:MAX_LISTED])
        more = f" and {len(steps) - MAX_LISTED} more" if len(steps) > MAX_LISTED else ""
        rounds = f", {chain['rounds']} rounds" if chain["rounds"] > 1 else ""
        how = f"until {chain['until']}, {chain['answer_within']:g} s each{rounds}"
        return f"{order}{more}, one at a time ({how})"
    reached = verdict == "acknowledged" or (
        verdict == "answered" and chain["until"] != "acknowledged"
    )
    if reached and by is not None:
        last = chain["round"] or 1
        others = [s for s in steps if s["name"] != by and s["round"] <= last]
        later = sum(1 for s in steps if s["round"] > last)
        per_round = sum(1 for s in steps if s["round"] == last)
        who = f" ({chain['answered_by']})" if chain["answered_by"] else ""
        rounds = f", round {last} of {chain['rounds']}" if chain["rounds"] > 1 else ""
        text = (
            f"{verdict} by '{by}'{who} at {when(chain['at'])}, row {chain['step']} of "
            f"{per_round}{rounds}"
        )
        if others:
            text += f", after {_fates(others)}"
        if later:
            text += f"; {later} call(s) of later rounds not needed"
        return text
    if verdict == "answered":
        return f"answered, not acknowledged: {_fates(steps)}"
    if verdict == "stopped":
        at = f" at '{by}'" if by is not None else ""
        return f"stopped{at}: {_fates(steps)}"
    return f"unanswered: {_fates(steps)} ({chain['called']} of {len(steps)} called)"


def call_words(call: Doc) -> str:
    """A page that is no chain's step (``message:`` and ``ack:`` on a call of its own):
    acknowledged or not, by whom, when."""
    name = call["name"]
    if call["acknowledged"] is True:
        return f"acknowledged by '{name}' at {when(call.get('acknowledged_at'))}"
    if call["acknowledged"] is False:
        return f"not acknowledged: '{name}': {FATE_WORDS.get(call['fate'], call['fate'])}"
    return f"not known to be acknowledged: '{name}': {FATE_WORDS.get(call['fate'], call['fate'])}"


def asks_ack(call: Doc) -> bool:
    """A call of its own (no chain's step) that asked to be acknowledged."""
    prompt = call.get("prompt")
    return prompt is not None and prompt["ack"] is not None and call.get("escalate") is None
