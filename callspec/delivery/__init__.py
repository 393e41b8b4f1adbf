"""Placing the calls: build each request, send it once, classify, journal, resume, pace,
follow, escalate.

``request`` builds a request (pure) and ``credentials`` finds who signs it;
``preview`` prints requests for the ``render`` command; ``guards`` refuse a
run before it starts; ``entries`` reads a journal and ``resume`` decides from
it what not to send again; ``journal`` writes one; ``rate`` spaces the
attempts; ``http`` makes one attempt (watching how far it got on the wire) and
``classify`` says what its answer means; ``ledger`` refuses to believe a
request_uuid seen before; ``stops`` holds the circuit breaker, the retry budget
and why a run halts; ``runner`` drives the workers and their retries.

Following placed calls: ``wait`` (how long and how often), ``legs`` (what is
followed), ``reads`` (one request about a call), ``callstate`` (what Plivo's
answers say, and whether they are about this call), ``hangup`` (hangup and
cancel) and ``follow`` (the scheduler).  Escalation: ``escalate`` (a chain's
order), ``chains`` (the runner's side of a chain) and ``settled`` (when a step
is over, and how each chain ended).
"""
