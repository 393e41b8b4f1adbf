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
skipped ones were surely never placed, so they are sent.  A call changed since
it was placed (same file and name, another body) is not sent either: the same
phone would ring again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from callspec.delivery.entries import JournalEntry, Target, read_journal
from callspec.errors import GuardError
from callspec.results import Answer
from callspec.spec.plan import CallPlan

#: Journal states that mean the call may have been placed.
PLACED_STATES = frozenset({"fired", "queued", "started", "unknown"})


@dataclass(frozen=True)
class Match:
    """The journal entry a call of the plan matches, and whether the call changed since.

    ``changed`` matches (same file and name, another body) do not show that a
    journal is about this plan: another project may have a spec of that name.
    """

    entry: JournalEntry
    changed: bool


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


class ResumeIndex:
    """A journal's entries, found by a call's key or, for changed calls, by file and name.

    Every identity of a call is tried: the work-tree-relative one, the absolute
    path (all that journals before 0.2 hold), and, for placed calls, the name
    and body alone (a nested repository dropped from a copy changes the
    relative path, yet the same call must not ring again).
    """

    def __init__(self, entries: Mapping[str, JournalEntry]) -> None:
        self.entries = entries
        self._by_key = dict(entries)
        self._by_content: dict[str, JournalEntry] = {}
        self._by_name: dict[tuple[str, str], JournalEntry] = {}
        for e in entries.values():
            if e.abs_key:
                self._by_key.setdefault(e.abs_key, e)
            if e.state in PLACED_STATES:
                if e.content_key:
                    self._by_content.setdefault(e.content_key, e)
                for path in (e.spec_path, e.abs_path):
                    if path:
                        self._by_name.setdefault((path, e.name), e)

    def match(self, call: CallPlan) -> Match | None:
        """The entry that speaks for ``call``.

        Its own entry when that may have been placed; else a placed version of
        the same call (same file and name, another body: a typo fixed since);
        else its own entry (failed or skipped: never placed), or None.
        """
        keys = (call.key, call.legacy_key)
        exact = next((e for k in keys if (e := self._by_key.get(k)) is not None), None)
        if exact is not None and exact.state in PLACED_STATES:
            return Match(exact, changed=False)
        same = self._by_content.get(call.content_key)
        if same is not None:
            return Match(same, changed=False)
        for path in (call.spec_path, call.abs_path):
            entry = self._by_name.get((path, call.name))
            if entry is not None and entry.key not in keys and entry.abs_key not in keys:
                return Match(entry, changed=True)
        return Match(exact, changed=False) if exact is not None else None


def check_fit(
    index: ResumeIndex,
    calls: Sequence[CallPlan],
    targets: Sequence[Target],
    journal: str,
    anyway: bool,
) -> int:
    """Refuse a journal that is not about this plan or this target; return how many entries match.

    ``targets[i]`` is where this run sends ``calls[i]``.
    """
    matched: dict[str, JournalEntry] = {}
    wrong: list[tuple[CallPlan, JournalEntry, Target]] = []
    untargeted = 0
    for call, target in zip(calls, targets, strict=True):
        found = index.match(call)
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
    entry, changed = found.entry, found.changed
    if entry.state not in PLACED_STATES:
        return None  # failed or skipped before: surely never placed
    if entry.state in ("fired", "queued"):
        if changed:
            reason = (
                f"changed since run {entry.run_id}, where it was {entry.state}; not sent "
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
        )
    if retry_unknown:
        return None
    reason = (
        f"{'changed since; ' if changed else ''}outcome unknown since run {entry.run_id} "
        "(it may have been placed); not resent: use --retry-unknown to send it again"
    )
    return Decision("unknown", reason, "unknown", entry.request_uuid, entry.run_id, entry.target)


@dataclass(frozen=True)
class ResumePlan:
    """What a resumed run sends: the decisions not to (by plan index) and the journal's fit."""

    decisions: Mapping[int, Decision]
    #: How many of the journal's calls are in this run (printed for the user).
    matched: int


def plan_resume(
    journal: Path,
    calls: Sequence[CallPlan],
    targets: Sequence[Target],
    retry_unknown: bool,
    anyway: bool,
) -> ResumePlan:
    """Read ``journal``, refuse it when it does not fit (GuardError), decide every call."""
    index = ResumeIndex(read_journal(journal))
    matched = check_fit(index, calls, targets, str(journal), anyway)
    decisions = {}
    for number, call in enumerate(calls):
        decision = decide(call, index.match(call), retry_unknown)
        if decision is not None:
            decisions[number] = decision
    return ResumePlan(decisions, matched)
