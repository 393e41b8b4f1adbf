"""A Postman collection's credentials, kept out of the spec ``import postman`` writes.

A variable is a credential when an ``auth`` block of the collection (its own, a
folder's, a request's) or an ``Authorization`` header reads it, when its name says
so (``auth_token``, ``api_key``, ``password``...), or when it holds what one of
those holds (a Basic header's value decoded: its user or its password).  A value an
``auth`` block or an ``Authorization`` header writes literally is a credential too.  Its
value is never written, printed or quoted: the spec reads it from the environment
instead (``POSTMAN_`` and its name, upper-cased: never a variable the shell or the
system set; Plivo's own as ``PLIVO_AUTH_ID`` / ``PLIVO_AUTH_TOKEN``, which no
template may read: the note says to take it out of the request), and a
credential's value written literally into a request refuses the import.
"""

from __future__ import annotations

import base64
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
    block or an ``Authorization`` header reads, those whose name says so, and any other
    whose value is one of theirs or a part of a Basic header's (its user or password)."""
    read: set[str] = set()
    for auth in _auth_blocks(collection):
        read.update(VARIABLE.findall(json.dumps(auth)))
    headers = list(_authorization_headers(collection))
    for header in headers:
        read.update(VARIABLE.findall(header))
    values = {name: str(value or "") for name, value in declared}
    found = {
        name: value
        for name, value in values.items()
        if name in read or _CREDENTIAL_NAME.search(name)
    }
    # What those hold, each header as sent (its variables filled in) and a Basic one's
    # user and password too: another variable holding one of them (a plain ``k`` with
    # the token) is the same credential.
    sent = [VARIABLE.sub(lambda m: values.get(m[1], m[0]), header) for header in headers]
    held = {*found.values(), *sent, *literal_credentials(collection)}
    held |= {part for header in sent for part in _basic_parts(header)}
    held.discard("")
    found.update((name, value) for name, value in values.items() if value in held)
    return found


#: The entries of an ``auth`` block that hold a credential when written literally:
#: Basic's and Digest's user and password, a bearer token, an API key's value, OAuth's.
_AUTH_ENTRY = re.compile(
    r"(?i)^(?:user(?:name)?|password|value|token|accesstoken|refreshtoken|"
    r"clientsecret|consumersecret|tokensecret|secret)$"
)


def literal_credentials(collection: Mapping[str, Any]) -> dict[str, str]:
    """The credentials the collection writes literally, not as ``{{name}}`` (value -> where):
    an ``auth`` block's user, password or token, an ``Authorization`` header's credentials
    (a Basic one's encoded part, user and password).  They are credentials as much as a
    variable's value is: a request that writes one elsewhere is refused."""
    found: dict[str, str] = {}
    for auth in _auth_blocks(collection):
        kind = str(auth.get("type", ""))
        entries = auth.get(kind)
        for entry in entries if isinstance(entries, list) else ():
            if not isinstance(entry, dict) or not _AUTH_ENTRY.search(str(entry.get("key", ""))):
                continue
            value = entry.get("value")
            if isinstance(value, str) and value and not VARIABLE.search(value):
                found.setdefault(value, f"the {kind} auth's {entry['key']}")
    for header in _authorization_headers(collection):
        if VARIABLE.search(header):
            continue  # its variables are credentials_of's
        scheme, _, rest = header.strip().partition(" ")
        parts = _basic_parts(header) or {rest.strip() or scheme}
        for part in parts - {""}:
            found.setdefault(part, f"an Authorization header's {scheme or 'value'} credentials")
    return found


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


def _authorization_headers(node: Any) -> Iterator[str]:
    """Every ``Authorization`` header's value in a collection (a request's ``header`` list)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "header" and isinstance(value, list):
                for header in value:
                    if (
                        isinstance(header, dict)
                        and str(header.get("key", "")).lower() == "authorization"
                    ):
                        yield str(header.get("value") or "")
            else:
                yield from _authorization_headers(value)
    elif isinstance(node, list):
        for item in node:
            yield from _authorization_headers(item)


def _basic_parts(value: str) -> set[str]:
    """A Basic credentials value (``Basic base64(user:password)``): its encoded part, its
    user and its password; nothing for any other value."""
    scheme, _, encoded = value.strip().partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        return set()
    try:
        user, _, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return set()
    return {encoded.strip(), user, password}


def refuse_literal(
    body: Mapping[str, Any],
    credentials: Mapping[str, str],
    literal: Mapping[str, str],
    title: str,
    source: str,
) -> None:
    """A credential's value written into a request (not as ``{{name}}``) is never copied:
    a credential variable's (``credentials``, name -> value) or one the collection writes
    literally in an ``auth`` block or an ``Authorization`` header (``literal``, value ->
    where)."""
    text = json.dumps(body)

    def written(value: str) -> bool:
        return len(value) >= 8 and (value in text or json.dumps(value)[1:-1] in text)

    for name, value in credentials.items():
        if written(value):
            message = (
                f"the request {title!r} holds the value of the credential {name!r}: callspec "
                f"copies no credential into a spec; write {{{{{name}}}}} there instead"
            )
            raise SpecError([Problem(Location(source), "", message)])
    for value, where in literal.items():
        if written(value):
            message = (
                f"the request {title!r} holds {where}, written literally: callspec copies no "
                "credential into a spec; keep it in a collection variable and write "
                "{{name}} in both places instead"
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
