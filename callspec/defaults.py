"""The defaults of the options a command line shows, in one module that imports nothing.

``--help`` prints them without loading the stages that use them, and each stage
takes its default from here, so the value a user reads is the value that runs.
"""

from __future__ import annotations

#: Calls per second over a run (Plivo's default CPS for an account).
RATE = 2.0
#: Calls in a row with no certain answer before sending stops (``--bail``; 0: never).
BAIL = 5
#: Seconds of retry waiting a whole run may spend (``--max-retry-wait``).
MAX_RETRY_WAIT = 300.0
#: Seconds a placed call is followed at most: ``--wait`` without a value, and each
#: escalation step without ``--wait``.
FOLLOW = 120.0
#: Seconds between two reads of one call's state (``--poll-interval``).
POLL_INTERVAL = 2.0
#: Reads of call state per second over a run (``--read-rate``).
READ_RATE = 5.0
#: Seconds for one check request: connecting, redirects and the body (``--check-timeout``).
CHECK_TIMEOUT = 5.0
#: Seconds for a whole check, every URL together (``--check-deadline``): fits a CI step.
CHECK_DEADLINE = 60.0
#: Seconds to fetch the calendar URL of ``each: {ical: URL}``: connecting, redirects, body.
CALENDAR_TIMEOUT = 10.0
