"""The network: the only code that talks HTTP to anything.

Sending a call, reading its state back, hanging it up, checking an answer URL
and the sandbox's simulated callbacks all make their requests here, so the
rules every request must keep live in one place (``tests/net/test_only_net_talks_http.py``
proves by every module's imports that nothing else uses an HTTP client):

- :mod:`~callspec.net.session`: the one session factory (:class:`~callspec.net.session.Client`):
  proxies and CA bundle from the environment passed in, ``no_proxy`` as curl and requests
  read it (CIDR ranges and ports too), never a credential from the environment (``~/.netrc``);
- :mod:`~callspec.net.wire`: how far an exchange got (the fact that proves "not sent"),
  and which sockets are under its deadline;
- :mod:`~callspec.net.deadline`: one deadline for a whole exchange (connect, headers,
  body, every redirect): its sockets are shut down when it passes;
- :mod:`~callspec.net.reasons`: one map from an exception to a structured
  :class:`~callspec.net.reasons.Reason` (kind, words, whether any byte may have reached
  the server), by type and errno, never by message text;
- :mod:`~callspec.net.exchange`: one request to the API (send, state reads, hangups),
  with the one bounded body reader;
- :mod:`~callspec.net.fetch`: a URL requested as Plivo would (``callspec check`` and the
  sandbox's callbacks): Plivo's parameters, redirects, optional signature;
- :mod:`~callspec.net.signature`: Plivo's request signatures, made and checked.

Text that comes back (bodies, headers, an exception's words) is raw: each consumer
passes it through :func:`callspec.text.outside` with its run's redactor.  Nothing here
imports requests until a request is made: importing ``callspec.net`` is free.
"""
