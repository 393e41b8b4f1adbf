"""The sandbox: a local Plivo-compatible Make-a-call API for trials, tests and CI.

``server`` serves the API on 127.0.0.1 (basic auth, the same schema as
callspec, Plivo's answers and error shapes) and records every call it treats
as placed; ``faults`` decides which answers to spoil (latency, statuses, 429
with Retry-After, dropped and hung connections) and builds Plivo's answers.
Only these constants load with the package: the server itself loads only for
``callspec sandbox`` and ``run --sandbox``.
"""

DEFAULT_AUTH_ID = "MASANDBOX00000000000"
DEFAULT_AUTH_TOKEN = "sandbox-token-not-a-secret-000000000000"
