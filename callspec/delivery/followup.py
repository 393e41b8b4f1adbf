"""After the workers: every plain call a run placed, followed to its end while ``--wait``
lasts, and every call with ``ack:`` until its acknowledgement is known (``--wait`` or
not), on one :class:`~callspec.delivery.follow.Follower`; each destination's answer is
recorded on its call's result.  Escalation steps are not followed here: their chain
follows each in its turn (:mod:`~callspec.delivery.chains`)."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING

from callspec.delivery.acks import AckWatch
from callspec.delivery.follow import Follower
from callspec.delivery.legs import Leg, legs_of
from callspec.delivery.request import api_url_for
from callspec.results import epoch_of

if TYPE_CHECKING:
    from callspec.delivery.runner import Runner
    from callspec.delivery.wait import WaitOptions


def follow_placed(runner: Runner, wait: WaitOptions | None, chained: set[int]) -> None:
    """Follow every call ``runner`` placed until it ends or ``wait`` runs out (counted from
    when its send ended), and every call with ``ack:`` until its acknowledgement is known;
    record each destination's :class:`Answer` on its result.  ``chained``: escalation
    steps, followed by their chain in turn."""
    legs: list[Leg] = []
    owners: list[int] = []
    waits: list[float] = []
    acks: list[AckWatch | None] = []
    now = time.time()
    for index, result in enumerate(runner._results):
        if index in chained:
            continue  # an escalation step: followed in its turn
        if result is None or result.outcome not in ("fired", "queued") or not result.attempts:
            continue  # not placed by this run (a resumed call is not followed again)
        call = runner.plan.calls[index]
        asks = call.message is not None and call.message.ack is not None
        if wait is None and not asks:
            continue  # neither --wait nor an acknowledgement to read back
        api_url = api_url_for(call, runner.options.api_url)
        found = legs_of(result.request_uuid, result.body, api_url, runner.creds[index])
        reader = None
        if asks and runner.services is not None:
            started = epoch_of(result.attempts[0].started)
            uuids = [leg.call_uuid for leg in found]
            reader = runner.services.reader(result, runner.creds[index], uuids, started)
        if wait is None and reader is None:
            continue
        last = result.attempts[-1]
        seconds = (wait or runner.options.follow).seconds
        left = seconds - max(0.0, now - epoch_of(last.started) - last.duration_ms / 1000)
        if reader is not None:  # rung, answered, then the window for the key
            ring = float(call.body.get("ring_timeout") or 120)
            left = max(left, ring + reader.ack.within + 30)
        legs += found
        owners += [index] * len(found)
        waits += [left] * len(found)
        acks += [None if reader is None else AckWatch(reader, leg.call_uuid, None) for leg in found]
    if not legs:
        return
    options = wait or runner.options.follow
    follower = Follower(
        options, runner.environ, runner.redactor.text, runner.stop, limiter=runner.read_limiter
    )
    try:
        answers = follower.follow(legs, waits, acks=acks)
    finally:
        follower.close()
    for index in dict.fromkeys(owners):
        mine = tuple(a for a, owner in zip(answers, owners, strict=True) if owner == index)
        result = runner._results[index]
        assert result is not None
        runner._results[index] = replace(result, answers=mine)
