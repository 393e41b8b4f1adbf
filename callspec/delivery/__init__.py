"""Placing the calls: build each request, send it once, classify, journal, resume, pace.

``request`` builds (pure), ``credentials`` finds who signs it, ``http`` makes
one attempt and ``classify`` says what its answer means; ``rate`` spaces the
attempts, ``guards`` refuse a run before it starts, ``journal`` and
``resume`` keep every call once across runs, and ``runner`` drives the
workers and retries.
"""
