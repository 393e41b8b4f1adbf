"""Placing the calls: build each request, send it once, classify, journal, resume, pace.

``request`` builds a request (pure) and ``credentials`` finds who signs it;
``preview`` prints requests for the ``render`` command; ``guards`` refuse a
run before it starts; ``entries`` reads a journal and ``resume`` decides from
it what not to send again; ``journal`` writes one; ``rate`` spaces the
attempts; ``http`` makes one attempt (watching how far it got on the wire) and
``classify`` says what its answer means; ``stops`` holds the circuit breaker,
the retry budget and why a run halts; ``runner`` drives the workers and their
retries.
"""
