"""A Postman collection's credentials, kept out of the spec ``import postman`` writes.

A variable is a credential when an ``auth`` block of the collection (its own, a
folder's, a request's) reads it, or when its name says so (``auth_token``,
``api_key``, ``password``...).  Its value is never written, printed or quoted: the
spec reads it from the environment instead (``POSTMAN_`` and its name, upper-cased:
never a variable the shell or the system set; Plivo's own as ``PLIVO_AUTH_ID`` /
``PLIVO_AUTH_TOKEN``, which no template may read: the note says to take it out of
the request), and a credential's value written literally into a request refuses
the import.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from callspec.errors import Location, Problem, SpecError

#: A Postman variable in text: ``{{name}}``.
VARIABLE = re.compile(r"\{\{\s*([^{}\s](?:[^{}]*[^{}\s])?)\s*\}\}")
#: A variable whose name says it holds a credential.
_CREDENTIAL_NAME = re.compile(r"(?i)token|secret|passw|pwd|api.?key|auth|credential|(?:^|_)key$")
#: Plivo's own credentials, by their usual names in a collection: what callspec signs with.
_PLIVO_ENV = {"auth_id": "PLIVO_AUTH_ID", "auth_token": "PLIVO_AUTH_TOKEN"}


#: What every other credential's environment variable starts with: a variable named
#: ``pwd``, ``home`` or ``path`` must not read the shell's ``$PWD``, ``$HOME``, ``$PATH``.
ENV_PREFIX = "POSTMAN_"


def env_name(variable: str) -> str:
    """The environment variable a credential variable is read from in the spec:
    ``POSTMAN_`` and its name upper-cased (Plivo's own credentials: ``PLIVO_AUTH_*``)."""
    plivo = _PLIVO_ENV.get(variable.lower())
    return plivo or ENV_PREFIX + re.sub(r"\W", "_", variable).upper()


def credentials_of(
    collection: Mapping[str, Any], declared: list[tuple[str, Any]]
) -> dict[str, str]:
    """The collection's variables that hold credentials (name -> value): those an ``auth``
    block reads, and those whose name says so."""
    read: set[str] = set()
    for auth in _auth_blocks(collection):
        read.update(VARIABLE.findall(json.dumps(auth)))
    return {
        name: str(value or "")
        for name, value in declared
        if name in read or _CREDENTIAL_NAME.search(name)
    }


def _auth_blocks(node: Any) -> Iterator[Any]:
    """Every ``auth`` block of a collection: its own, its folders' and its requests'."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "auth" and isinstance(value, dict):
                yield value
            else:
                yield from _auth_blocks(value)
    elif isinstance(node, list):
        for item in node:
            yield from _auth_blocks(item)


def refuse_literal(
    body: Mapping[str, Any], credentials: Mapping[str, str], title: str, source: str
) -> None:
    """A credential's value written into a request (not as ``{{name}}``) is never copied."""
    text = json.dumps(body)
    for name, value in credentials.items():
        if len(value) >= 8 and (value in text or json.dumps(value)[1:-1] in text):
            message = (
                f"the request {title!r} holds the value of the credential {name!r}: callspec "
                f"copies no credential into a spec; write {{{{{name}}}}} there instead"
            )
            raise SpecError([Problem(Location(source), "", message)])


def credential_note(name: str, env: str) -> str:
    if env in _PLIVO_ENV.values():
        return (
            f"the variable '{name}' is Plivo's credential: its value is not written; the spec "
            f"reads {{{{ env.{env} }}}}, which no template may (it could carry it to another "
            "host): take it out of the request (docs/secrets.md)"
        )
    return (
        f"the variable '{name}' holds a credential: its value is not written; the spec reads "
        f"it from ${env} ({{{{ env.{env} }}}}); to mask it and need it only to send, declare "
        f"it in the profile instead: secrets: [{{env: {env}, var: {name}}}] (docs/secrets.md)"
    )
