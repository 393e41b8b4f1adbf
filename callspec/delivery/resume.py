"""Resuming from a journal: which calls must not be sent again, and whether the journal fits.

A resumed run trusts its journal only when the journal is about these calls
and this target.  So before anything is decided, :func:`check_fit` refuses
(``GuardError``, exit 4) a journal none of whose entries match the plan (the
checkout moved and identities were lost, or it is another project's journal),
and a journal written against another target (mode, auth ID, and in live mode
the API URL): skipping calls that were placed somewhere else would silently
suppress real pages.  ``--resume-anyway`` accepts either, said in so many words.

Then :func:`decide` says, per call, what a journal entry means: fired and
queued calls are never sent again; a call whose outcome is unknown (or that
was started and never finished) only with ``--retry-unknown``; failed and
skipped ones were surely never placed, so they are sent.  A call renamed since
it was placed (another name, the same body) or changed since (same file and
name, or same file and destination, another body) is not sent either: the
same phone would ring again.  A destination's identity is its normalized
number (:func:`callspec.spec.validate.destination_key`): ``Alice,14155550101``
is the row ``alice,+14155550101`` placed before.  :class:`ResumeIndex` matches
entries to calls one to one, strongest identity first.

:func:`chain_journals` finds each escalation chain of the plan in the journal:
by its key (its file and entry name, not its line), by the ``file:line`` of
journals written before keys, and through any step of it the journal knows
(so comments, blank lines and rows reordered, inserted or removed leave it the
same chain).  A chain the journal shows answered is over: nothing more of it
is sent, not even a roster row the journal never saw.  Steps it placed that
the plan no longer holds are handed over too: they are settled before any new
step rings.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from callspec.delivery.entries import JournalEntry, Target, chain_id, read_journal
from callspec.errors import GuardError
from callspec.results import Answer
from callspec.spec.plan import CallPlan
from callspec.spec.validate import destination_key

#: How a call of the plan matches a journal entry (see :class:`Match`).
How = Literal["same", "renamed", "changed"]

#: Journal states that mean the call may have been placed.
PLACED_STATES = frozenset({"fired", "queued", "started", "unknown"})


@dataclass(frozen=True)
class Match:
    """The journal entry a call of the plan matches, and how.

    ``how`` is ``same`` (this very call), ``renamed`` (another name, the same
    body: a typo fixed in a name, a name re-exported in another Unicode form, a
    name made of ``row.index`` after a row was inserted) or ``changed`` (the
    same file and name, or the same file and destination, another body).  Only
    ``same`` matches show that a journal is about this plan.
    """

    entry: JournalEntry
    how: How = "same"

    @property
    def changed(self) -> bool:
        """Not this very call: a version of it placed before it was renamed or changed."""
        return self.how != "same"


@dataclass(frozen=True)
class Decision:
    """A call the resumed run does not send: its outcome, why, and the state the journal keeps."""

    outcome: Literal["skipped", "unknown"]
    reason: str
    state: str
    request_uuid: str | list[str] | None
    #: The run that placed it, and where: carried into the new journal lines, so a
    #: later resume still knows (and still checks the target).
    run_id: str
    target: Target | None
    #: What the journal recorded of the call's answer (an escalation step), if anything.
    answers: tuple[Answer, ...] | None = None
    #: When its send started (ISO 8601), "" when unknown: a step read back on resume
    #: gets the rest of its answer_within.
    placed: str = ""
    #: Its message's registration at the answer service, where its acknowledgement is read.
    registration: str = ""


class ResumeIndex:
    """A journal's entries, matched to the calls of a plan one to one.

    Every identity of a call is tried, strongest first, and an entry speaks for
    one call only (so a call placed twice on purpose, once per spec, is not
    suppressed by its twin's entry):

    1. its key: the work-tree-relative one, or the absolute path (all that
       journals before 0.2 hold);
    2. for placed calls, the name and body alone (a nested repository dropped
       from a copy changes the relative path, yet the same call must not ring
       again);
    3. the body alone, under another name: the call was renamed since;
    4. the same file and name, another body: changed since (a typo fixed);
    5. the same file and destination (``to``, by its normalized number), another name
       and body: changed.

    Steps 2 to 5 consider only entries that may have been placed and that no
    stronger identity of another call claimed.
    """

    def __init__(self, entries: Mapping[str, JournalEntry]) -> None:
        self.entries = entries
        self._by_key = dict(entries)
        self._by_content: dict[str, list[JournalEntry]] = {}
        self._by_body: dict[str, list[JournalEntry]] = {}
        self._by_name: dict[tuple[str, str], list[JournalEntry]] = {}
        self._by_to: dict[tuple[str, str], list[JournalEntry]] = {}
        for e in entries.values():
            if e.abs_key:
                self._by_key.setdefault(e.abs_key, e)
            if e.state not in PLACED_STATES:
                continue
            if e.content_key:
                self._by_content.setdefault(e.content_key, []).append(e)
            if e.body_key:
                self._by_body.setdefault(e.body_key, []).append(e)
            for path in dict.fromkeys((e.spec_path, e.abs_path)):
                if path:
                    self._by_name.setdefault((path, e.name), []).append(e)
                    if e.to:
                        self._by_to.setdefault((path, _destinations(e.to)), []).append(e)

    def match_all(self, calls: Sequence[CallPlan]) -> list[Match | None]:
        """The entry that speaks for each of ``calls`` (None: the journal knows it not)."""
        found: list[Match | None] = [None] * len(calls)
        claimed: set[str] = set()

        def claim(
            number: int, entry: JournalEntry, how: Literal["same", "renamed", "changed"]
        ) -> None:
            found[number] = Match(entry, how)
            claimed.add(entry.key)

        exact: list[JournalEntry | None] = []
        for number, call in enumerate(calls):
            keys = (call.key, call.legacy_key)
            entry = next((e for k in keys if (e := self._by_key.get(k)) is not None), None)
            exact.append(entry)
            if entry is not None and entry.state in PLACED_STATES and entry.key not in claimed:
                claim(number, entry, "same")
        passes: list[tuple[How, Callable[[CallPlan], list[list[JournalEntry]]]]] = [
            ("same", lambda c: [self._by_content.get(c.content_key, [])]),
            ("renamed", lambda c: [self._by_body.get(c.body_key, [])]),
            ("changed", lambda c: [self._by_name.get((p, c.name), []) for p in _paths(c)]),
            ("changed", lambda c: [self._by_to.get((p, _to(c)), []) for p in _paths(c)]),
        ]
        for how, candidates in passes:
            for number, call in enumerate(calls):
                if found[number] is not None:
                    continue
                for group in candidates(call):
                    entry = next((e for e in group if e.key not in claimed), None)
                    if entry is not None:
                        claim(number, entry, how)
                        break
        for number, entry in enumerate(exact):
            if found[number] is None and entry is not None:
                found[number] = Match(entry)  # failed or skipped: never placed
        return found


def _paths(call: CallPlan) -> tuple[str, ...]:
    return tuple(p for p in dict.fromkeys((call.spec_path, call.abs_path)) if p)


def _to(call: CallPlan) -> str:
    return _destinations(str(call.body.get("to", "")))


def _destinations(to: str) -> str:
    """``to``'s identity: each destination's normalized number, in order (``a<b<c``)."""
    return "<".join(destination_key(d) for d in to.split("<"))


def check_fit(
    index: ResumeIndex,
    calls: Sequence[CallPlan],
    matches: Sequence[Match | None],
    targets: Sequence[Target],
    journal: str,
    anyway: bool,
) -> int:
    """Refuse a journal that is not about this plan or this target; return how many entries match.

    ``matches[i]`` is what the journal holds of ``calls[i]`` (:meth:`ResumeIndex.match_all`),
    ``targets[i]`` where this run sends it.
    """
    matched: dict[str, JournalEntry] = {}
    wrong: list[tuple[CallPlan, JournalEntry, Target]] = []
    untargeted = 0
    for call, target, found in zip(calls, targets, matches, strict=True):
        if found is None:
            continue
        entry = found.entry
        if not found.changed:
            matched[entry.key] = entry
        if entry.state not in PLACED_STATES:
            continue  # a call never placed is sent again wherever it goes
        if entry.target is None:
            untargeted += 1
        elif entry.target != target:
            wrong.append((call, entry, target))
    hint = "pass --resume-anyway to resume from it all the same"
    if index.entries and not matched and not anyway:
        raise GuardError(
            f"journal {journal}: none of its {len(index.entries)} calls is in this run as it "
            "was journaled (another project's journal, or specs renamed or changed since); "
            f"nothing was sent. Run without --resume, or {hint}"
        )
    if wrong and not anyway:
        call, entry, target = wrong[0]
        more = f" (and {len(wrong) - 1} more)" if len(wrong) > 1 else ""
        raise GuardError(
            f"journal {journal} was written against {entry.target}, but this run sends "
            f"'{call.name}'{more} to {target}: its calls were not placed there, so skipping "
            f"them would suppress real calls; nothing was sent. Resume against the same "
            f"target, run without --resume, or {hint}"
        )
    if untargeted and not anyway:
        raise GuardError(
            f"journal {journal} does not record where its calls were sent (written by an "
            f"older callspec), so it cannot be checked against this run's target; nothing "
            f"was sent. If it was written against this target, {hint}"
        )
    return len(matched)


def decide(call: CallPlan, found: Match | None, retry_unknown: bool) -> Decision | None:
    """What the journal says of ``call``: a :class:`Decision` not to send it, or None to send."""
    if found is None:
        return None
    entry = found.entry
    if entry.state not in PLACED_STATES:
        return None  # failed or skipped before: surely never placed
    since = _since(call, found)
    if entry.state in ("fired", "queued"):
        if found.changed:
            reason = (
                f"{since}, where it was {entry.state}; not sent "
                "again on --resume (run without --resume to place the changed call)"
            )
        else:
            reason = f"already {entry.state} in run {entry.run_id}; not sent again"
        return Decision(
            "skipped",
            reason,
            entry.state,
            entry.request_uuid,
            entry.run_id,
            entry.target,
            entry.answers,
            entry.placed,
            entry.registration,
        )
    if retry_unknown:
        return None
    reason = (
        f"{since + '; ' if found.changed else ''}outcome unknown since run {entry.run_id} "
        "(it may have been placed); not resent: use --retry-unknown to send it again"
    )
    return Decision("unknown", reason, "unknown", entry.request_uuid, entry.run_id, entry.target)


def _since(call: CallPlan, found: Match) -> str:
    """How a renamed or changed call differs from its journal entry, for the reason."""
    entry = found.entry
    # The journal's name, escaped: an older callspec let a row's control characters in.
    shown = json.dumps(entry.name, ensure_ascii=False)[1:-1]
    was = f"journaled there as '{shown}'" if entry.name != call.name else ""
    if found.how == "renamed":
        return f"renamed since run {entry.run_id} ({was}, same body)"
    return f"changed since run {entry.run_id}" + (f" ({was})" if was else "")


@dataclass(frozen=True)
class ResumePlan:
    """What a resumed run sends: the decisions not to (by plan index) and the journal's fit."""

    decisions: Mapping[int, Decision]
    #: How many of the journal's calls are in this run (printed for the user).
    matched: int
    #: Escalation chains the journal shows answered (by chain key): why nothing more of
    #: them is sent, even steps the journal does not know (a roster edited since).
    chains_over: Mapping[str, str] = field(default_factory=dict)
    #: Steps of a chain (by chain key) the journal shows placed, and not settled, that the
    #: plan no longer holds (their row was removed since): settled before any new step.
    orphans: Mapping[str, tuple[JournalEntry, ...]] = field(default_factory=dict)
    #: Every request_uuid the journal holds, with its call's name.
    uuids: tuple[tuple[str, str], ...] = ()


def plan_resume(
    journal: Path,
    calls: Sequence[CallPlan],
    targets: Sequence[Target],
    retry_unknown: bool,
    anyway: bool,
) -> ResumePlan:
    """Read ``journal``, refuse it when it does not fit (GuardError), decide every call."""
    index = ResumeIndex(read_journal(journal))
    matches = index.match_all(calls)
    matched = check_fit(index, calls, matches, targets, str(journal), anyway)
    decisions = {}
    for number, (call, found) in enumerate(zip(calls, matches, strict=True)):
        decision = decide(call, found, retry_unknown)
        if decision is not None:
            decisions[number] = decision
    over, orphans = chain_journals(index, calls, matches)
    uuids = tuple(
        (str(uuid), e.name)
        for e in index.entries.values()
        for uuid in (e.request_uuid if isinstance(e.request_uuid, list) else [e.request_uuid])
        if uuid
    )
    return ResumePlan(decisions, matched, over, orphans, uuids)


def chain_journals(
    index: ResumeIndex, calls: Sequence[CallPlan], matches: Sequence[Match | None]
) -> tuple[dict[str, str], dict[str, tuple[JournalEntry, ...]]]:
    """For each chain of the plan (by key): why the journal shows it over (a step of it
    answered), and the steps it placed that the plan no longer holds and that may still
    ring."""
    steps: dict[str, list[tuple[CallPlan, Match | None]]] = {}
    for call, found in zip(calls, matches, strict=True):
        if call.escalate is not None:
            steps.setdefault(call.escalate.key, []).append((call, found))
    claimed = {found.entry.key for found in matches if found is not None}
    by_chain: dict[str, list[JournalEntry]] = {}
    for entry in index.entries.values():
        if entry.chain:
            by_chain.setdefault(entry.chain, []).append(entry)
    over: dict[str, str] = {}
    orphans: dict[str, tuple[JournalEntry, ...]] = {}
    for key, members in steps.items():
        first = members[0][0]
        mine = [found.entry for _, found in members if found is not None]
        # Its key, the file:line older journals wrote, and whatever chain its known steps
        # were journaled in: one chain, however its spec was edited since.
        ids = {key, chain_id(first.spec_path or first.abs_path, first.line)}
        ids.update(e.chain for e in mine if e.chain)
        journaled = [e for chain in ids for e in by_chain.get(chain, ())]
        ended = next((e for e in [*mine, *journaled] if e.reached), None)
        if ended is not None:
            shown = json.dumps(ended.name, ensure_ascii=False)[1:-1]
            acked = first.escalate is not None and first.escalate.until == "acknowledged"
            over[key] = (
                f"escalation stopped: {'acknowledged' if acked else 'answered'} by '{shown}' "
                f"in run {ended.run_id} "
                "(the resumed journal); nobody else of the chain is paged"
            )
        gone = {e.key: e for e in journaled if e.key not in claimed and e.state in PLACED_STATES}
        if gone:
            orphans[key] = tuple(sorted(gone.values(), key=lambda e: e.placed))
    return over, orphans
