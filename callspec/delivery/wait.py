"""How placed calls are followed: for how long, how often, how fast reads may go.

``run --wait`` follows every placed call until it ends; each step of an
``escalate:`` chain is followed the same way.  Following is split by job:
:mod:`~callspec.delivery.legs` (what is followed: a call's legs),
:mod:`~callspec.delivery.reads` (one request about a call, on the wire),
:mod:`~callspec.delivery.callstate` (what Plivo's answers say, and whether they
are about this call), :mod:`~callspec.delivery.hangup` (Plivo's hangup and
cancel) and :mod:`~callspec.delivery.follow` (the scheduler that polls each leg
to its end).  See ``docs/plivo-call-state.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

from callspec import defaults
from callspec.delivery.request import Timeouts

DEFAULT_INTERVAL = defaults.POLL_INTERVAL  # seconds between two polls of one call
DEFAULT_READ_RATE = defaults.READ_RATE  # state reads per second over the whole run
# A read that gets no answer in this long is made again at the next poll.
READ_TIMEOUTS = Timeouts(connect=5.0, read=10.0)


@dataclass(frozen=True)
class WaitOptions:
    """How to follow placed calls: for how long, how often, how fast reads may go."""

    #: Follow each call at most this long after it was placed (seconds).
    seconds: float
    #: Seconds between two polls of one call.
    interval: float = DEFAULT_INTERVAL
    #: Reads per second over the run (Plivo rate-limits its API per account).
    read_rate: float = DEFAULT_READ_RATE
    #: ``--wait-ok no-answer``: a call nobody answered does not fail the run.
    no_answer_ok: bool = False
    timeouts: Timeouts = READ_TIMEOUTS
