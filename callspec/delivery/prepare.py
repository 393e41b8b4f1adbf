"""What a run settles before its first send: where each call goes (its journal
:class:`~callspec.delivery.entries.Target`), the results of the calls it will not send
(a dry run, a call held back by the plan, a call ``--resume`` says must not go out
again), ``max_calls`` counted on the rest, and the journal opened (a resumed one locked
first, so two runs never both send what it lists as pending)."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import TYPE_CHECKING

from callspec.delivery.entries import Target, normal_url
from callspec.delivery.guards import check_max_calls
from callspec.delivery.journal import Journal, lock
from callspec.delivery.ledger import UuidLedger
from callspec.delivery.request import api_url_for
from callspec.paths import same_file
from callspec.results import SkipKind, result_of

if TYPE_CHECKING:
    from callspec.delivery.credentials import Credentials
    from callspec.delivery.options import RunOptions
    from callspec.delivery.runner import Runner
    from callspec.spec.plan import CallPlan


def target_of(options: RunOptions, call: CallPlan, creds: Credentials) -> Target:
    """Where ``call`` goes, as its journal lines name it (mode, account, API URL)."""
    mode = options.mode
    api_url = api_url_for(call, options.api_url) if mode == "live" else None
    return Target(mode, creds.auth_id, normal_url(api_url) if api_url else None)


def prepare(runner: Runner) -> None:
    """Read the resumed journal, decide what not to send, check max_calls, open the journal.

    Fills ``runner``'s early results, journal and locks as it goes: when it raises, the
    runner closes what was opened."""
    options = runner.options
    calls = runner.plan.calls
    if options.mode == "dry-run":
        for index, call in enumerate(calls):
            kind: SkipKind = "held" if call.held else "dry-run"
            reason = call.held or "dry run: not sent"
            runner._early[index] = (result_of(call, "skipped", reason, skip_kind=kind), None)
        check_max_calls(runner.plan, [], options.max_calls)
        return
    resume, journal = options.resume, options.journal
    if resume is not None and journal is not None and same_file(resume, journal):
        # Locked before it is read: a second run resuming it now is refused,
        # instead of both sending what it lists as pending.
        runner.journal = Journal(journal, runner.run_id, runner.redactor)
    elif resume is not None:
        fd = os.open(resume, os.O_RDONLY)
        runner._held.append(fd)
        lock(resume, fd)
    if options.resume is not None:
        from callspec.delivery.resume import plan_resume

        resumed = plan_resume(
            options.resume,
            calls,
            runner.targets,
            options.retry_unknown,
            options.resume_anyway,
        )
        runner.resume_matched = resumed.matched
        runner._chains_over = resumed.chains_over
        runner._orphans = resumed.orphans
        runner.ledger = UuidLedger(runner.redactor.text, resumed.uuids)
        for index, d in resumed.decisions.items():
            resumed_kind: SkipKind | None = "resumed" if d.outcome == "skipped" else None
            result = result_of(
                calls[index],
                d.outcome,
                d.reason,
                request_uuid=d.request_uuid,
                skip_kind=resumed_kind,
            )
            if d.registration:  # where its acknowledgement is read on resume
                from callspec.delivery.service import service_of

                service = service_of(calls[index], options.service)
                result = replace(result, service=service, registration=d.registration)
            runner._early[index] = (result, d)
    for index, call in enumerate(calls):
        if call.held is not None and index not in runner._early:
            # Held back by the plan (a person in quiet hours): recorded, never sent; a
            # chain moves on to its next step.
            held = result_of(call, "skipped", call.held, skip_kind="held")
            runner._early[index] = (held, None)
    sending = [call for index, call in enumerate(calls) if index not in runner._early]
    check_max_calls(runner.plan, sending, options.max_calls)
    if runner.journal is None and options.journal is not None:
        runner.journal = Journal(options.journal, runner.run_id, runner.redactor)
