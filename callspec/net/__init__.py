"""The network: the only code that talks HTTP to anything.

Sending a call, reading its state back, hanging it up, checking an answer URL
and the sandbox's simulated callbacks all make their requests here, so the
rules every request must keep live in one place: no credentials from the
environment, one deadline for a whole exchange, a bounded body, one map from
an exception to a structured reason (and whether any byte may have reached the
server), and Plivo's request signature (:mod:`callspec.net.signature`).
"""
