"""``callspec serve``: the answer service Plivo calls for a ``message`` + ``ack`` call.

The runner registers what a call says and which key acknowledges it
(:mod:`~callspec.serve.prompt`) over a channel signed with the account's auth
token (:mod:`~callspec.serve.channel`, client side :mod:`~callspec.serve.client`),
then places the call with an ``answer_url`` that names the registration by an
opaque ID only.  Plivo fetches that URL; the service checks Plivo's signature
(:mod:`~callspec.serve.auth`), serves ``<GetDigits>`` with the spoken message
(:mod:`~callspec.serve.documents`), records the key pressed in one SQLite file
(:mod:`~callspec.serve.store`), and the runner reads the acknowledgement back.
:mod:`~callspec.serve.app` holds the routes (a WSGI application),
:mod:`~callspec.serve.server` runs it on waitress with a graceful stop, and
:mod:`~callspec.serve.logs` writes one JSON line per request, secrets masked.
See docs/serve.md.
"""
