"""``callspec import postman``: Make-a-call requests of a Postman v2.1 collection as a spec.

Each request that POSTs to ``/v1/Account/{auth_id}/Call/`` becomes a call: its
raw JSON (or form) body the call's arguments, its name the call's name (made
unique), the folders it sits in its tags.  Postman's ``{{name}}`` variables are
Jinja's already; names Jinja cannot read (``a-b``) become ``a_b`` (two names that would
become one, ``a-b`` and ``a_b``, refuse the import: their values would merge), names callspec
reserves (``env``, ``call``, ``row``) or Jinja's words (``in``, ``true``) get a
``_`` appended, and the collection's variables become the spec's ``vars``.
Postman's dynamic variables (``{{$guid}}``, ``{{$timestamp}}``) have no
equivalent in a spec, which renders the same request every time: each becomes
a variable (``postman_guid``) left for the user to set, said on stderr and in a
TODO comment.  Everything else is listed as skipped with why, never dropped
without a word (a request's saved examples are recorded responses: never calls).
The YAML is checked against ``spec.schema.json`` before it is returned.

A collection's credentials never reach the spec, stdout or stderr: a variable the
collection's (or a request's) ``auth`` reads, or whose name says it is one
(``auth_token``, ``api_key``, ``password``...), is written as a reference to the
environment (``{{ env.POSTMAN_HOOK_KEY }}``; Plivo's own as ``{{ env.PLIVO_AUTH_TOKEN }}``,
which no template may read: the note says to take it out), and a credential's
value written literally in a request refuses the import.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import yaml

from callspec.errors import Location, Problem, SpecError
from callspec.redact import Redactor
from callspec.spec.postman_credentials import (
    VARIABLE,
    credential_note,
    credentials_of,
    env_name,
    literal_credentials,
    refuse_literal,
)
from callspec.text import outside

_CALL_PATH = re.compile(r"(?:^|/)v1/Account/[^/]+/Call/?$")


#: Names a template sees whatever the spec says (callspec's scope), and Jinja's words.
_RESERVED = frozenset(
    {"env", "call", "row", "and", "or", "not", "in", "is", "if", "else", "recursive"}
    | {"true", "false", "none", "True", "False", "None"}
)
#: What Postman makes of its best-known dynamic variables, for the warning.
_DYNAMIC = {
    "guid": "a new UUID each request",
    "randomUUID": "a new UUID each request",
    "timestamp": "the Unix time of the request, in seconds",
    "isoTimestamp": "the time of the request, ISO 8601",
    "randomInt": "a random integer from 0 to 1000",
}


@dataclass(frozen=True)
class Imported:
    """The spec's YAML text, how many calls it holds, what was skipped (name, why), and
    notes on what was changed on the way (renamed variables, dynamic variables)."""

    text: str
    calls: int
    skipped: tuple[tuple[str, str], ...]
    notes: tuple[str, ...] = ()


class _Names:
    """Postman's variable names as the spec's: readable by Jinja, none reserved, each
    dynamic variable (``$guid``) a variable of its own; what was changed is noted."""

    def __init__(self, declared: list[str]) -> None:
        self.used: set[str] = set()
        self.taken = {_identifier(name) for name in declared}
        self.renamed: dict[str, str] = {}
        self.dynamic: dict[str, str] = {}
        #: The first Postman name met for each spec name, and the pairs of names that
        #: became one (``a-b`` and ``a_b``): their values would silently merge.
        self.origin: dict[str, str] = {}
        self.clashes: dict[tuple[str, str], str] = {}
        for name in declared:
            self._origin(name, _identifier(name))

    def _origin(self, name: str, plain: str) -> None:
        first = self.origin.setdefault(plain, name)
        if first != name:
            self.clashes.setdefault((first, name), plain)

    def of(self, name: str) -> str:
        if name.startswith("$"):
            found = self.dynamic.get(name)
            if found is None:
                found = self.dynamic[name] = self._free(_identifier("postman_" + name[1:]))
            return found
        plain = _identifier(name)
        self._origin(name, plain)
        if plain not in _RESERVED:
            return plain
        found = self.renamed.get(plain)
        if found is None:
            found = self.renamed[plain] = self._free(plain + "_")
        return found

    def _free(self, name: str) -> str:
        while name in self.taken or name in _RESERVED:
            name += "_"
        self.taken.add(name)
        return name

    def notes(self) -> list[str]:
        notes = [
            f"the variable '{old}' is '{new}' in the spec: '{old}' is reserved in a "
            "callspec template"
            for old, new in self.renamed.items()
        ]
        for name, variable in self.dynamic.items():
            what = _DYNAMIC.get(name[1:], "a Postman dynamic variable")
            notes.append(
                f"{{{{{name}}}}} ({what}) has no equivalent in a spec, which renders the "
                f"same request every time: it reads the variable '{variable}' instead; "
                f"set it before running (vars: or --var {variable}=VALUE)"
            )
        return notes


def import_collection(collection: Any, source: str) -> Imported:
    """The spec for a parsed Postman collection (``source`` names it in the comments).

    Only Postman's ``{{name}}`` variables become templates: any other Jinja syntax
    a collection holds (``{% ... %}``, ``{{ env.X }}``) is kept as literal text,
    so importing a collection never makes a spec that reads the environment.
    """
    try:
        return _import(collection, source)
    except (KeyError, TypeError, AttributeError, ValueError, RecursionError) as e:
        problem = f"not a usable Postman collection: {type(e).__name__}: {e}"
        raise SpecError([Problem(Location(source), "", problem)]) from e


def _import(collection: Any, source: str) -> Imported:
    if not isinstance(collection, dict) or not isinstance(collection.get("item"), list):
        problem = "not a Postman collection: no 'item' list at the top level"
        raise SpecError([Problem(Location(source), "", problem)])
    calls: list[tuple[str, dict[str, Any]]] = []
    skipped: list[tuple[str, str]] = []
    names: dict[str, int] = {}
    declared = [v for v in collection.get("variable") or [] if isinstance(v, dict) and "key" in v]
    spec_names = _Names([str(v["key"]) for v in declared])
    credentials = credentials_of(collection, [(str(v["key"]), v.get("value")) for v in declared])
    literal = literal_credentials(collection)
    hide = Redactor(v for v in (*credentials.values(), *literal) if len(v) >= 8).text
    for folders, item in _requests(collection["item"], ()):
        title = " / ".join((*folders, str(item.get("name", "(unnamed)"))))
        body, why = _make_a_call(item)
        for example in item.get("response") or ():
            if isinstance(example, dict):  # Postman's saved examples: what came back, once
                name = str(example.get("name") or "(unnamed)")
                skipped.append((f"{title} / {name}", "a saved example (a recorded response)"))
        if body is None:
            skipped.append((title, hide(why)))  # a URL may hold a token written into it
            continue
        refuse_literal(body, credentials, literal, title, source)
        body = {k: _jinja(v, spec_names) for k, v in body.items()}
        call: dict[str, Any] = {"name": _unique(str(item.get("name") or "call"), names)}
        if folders:
            call["tags"] = [_slug(f) for f in folders]
        call.update(body)
        calls.append((title, call))
    used = set(spec_names.used)
    variables: dict[str, Any] = {}
    notes = spec_names.notes()
    for v in declared:
        name = spec_names.of(str(v["key"]))
        if name not in used:
            continue
        if str(v["key"]) in credentials:
            env = env_name(name)
            variables[name] = "{{ env." + env + " }}"
            notes.append(credential_note(str(v["key"]), env))
        else:
            variables[name] = _jinja(v.get("value", ""), spec_names)
    if spec_names.clashes:
        clashes = spec_names.clashes.items()
        raise SpecError([_clash(source, *pair, name, hide) for pair, name in clashes])
    todo = sorted(spec_names.dynamic.values())
    text = _yaml(source, collection, calls, variables, todo, hide)
    _check(text, source, [call["name"] for _, call in calls])
    # A note quotes names from the collection: outside text, like the comments.
    return Imported(text, len(calls), tuple(skipped), tuple(outside(n, hide, None) for n in notes))


def _clash(source: str, first: str, second: str, name: str, hide: Callable[[str], str]) -> Problem:
    """Two Postman variables that would be one in the spec: refused, not merged."""
    message = (
        f"the variables {first!r} and {second!r} would both be {name!r} in the spec (a "
        "template name holds only letters, digits and '_'): rename one of them in the "
        "collection"
    )
    return Problem(Location(source), "", outside(message, hide, None))


def _requests(
    items: list[Any], folders: tuple[str, ...]
) -> Iterator[tuple[tuple[str, ...], Mapping[str, Any]]]:
    """Every request with the folders it sits in, in order; folders of any depth."""
    stack: list[tuple[tuple[str, ...], Iterator[Any]]] = [(folders, iter(items))]
    while stack:
        path, rest = stack[-1]
        item = next(rest, None)
        if item is None:
            stack.pop()
        elif isinstance(item, dict) and isinstance(item.get("item"), list):  # a folder
            stack.append(((*path, str(item.get("name", ""))), iter(item["item"])))
        elif isinstance(item, dict):
            yield path, item


def _make_a_call(item: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """The body of a Make-a-call request, or None and why the item is none."""
    request = item.get("request")
    if not isinstance(request, dict):
        return None, "no request"
    method = str(request.get("method", "GET")).upper()
    url = request.get("url")
    raw = url.get("raw", "") if isinstance(url, dict) else str(url or "")
    path = raw.split("?", 1)[0]
    if method != "POST" or not _CALL_PATH.search(path):
        return None, f"not a Make-a-call request ({method} {raw or 'no URL'})"
    body = request.get("body") or {}
    mode = body.get("mode")
    if mode == "raw":
        try:
            data = json.loads(body.get("raw") or "{}")
        except ValueError as e:
            return None, f"its raw body is not JSON ({e})"
        if not isinstance(data, dict):
            return None, "its raw body is not a JSON object"
        return data, ""
    if mode == "urlencoded":
        fields = body.get("urlencoded") or []
        if not isinstance(fields, list) or not all(
            isinstance(f, dict) and isinstance(f.get("key"), str) for f in fields
        ):
            return None, "its urlencoded body is not a list of fields with keys"
        return {f["key"]: f.get("value", "") for f in fields if not f.get("disabled")}, ""
    if mode is None and isinstance(body.get("raw"), str):
        return dict(parse_qsl(body["raw"])), ""
    return None, f"its body is {mode!r}, not JSON or form fields"


def _identifier(name: str) -> str:
    cleaned = re.sub(r"\W", "_", name.strip())
    return cleaned if cleaned and not cleaned[0].isdigit() else f"v_{cleaned}"


def _jinja(value: Any, names: _Names) -> Any:
    """Postman's ``{{name}}`` as Jinja's ``{{ name }}`` (names as :class:`_Names` makes
    them); every other character literal, whatever Jinja would make of it."""
    if isinstance(value, dict):
        return {k: _jinja(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_jinja(v, names) for v in value]
    if not isinstance(value, str):
        return value
    out: list[str] = []
    last = 0
    for match in VARIABLE.finditer(value):
        out.append(_literal(value[last : match.start()]))
        name = names.of(match[1])
        names.used.add(name)
        out.append("{{ " + name + " }}")
        last = match.end()
    out.append(_literal(value[last:]))
    return "".join(out)


def _literal(text: str) -> str:
    """``text`` as a template that renders to itself: braces and ``%``/``#`` next to them
    would be Jinja syntax, so such text is written as a Jinja string literal."""
    if not any(mark in text for mark in ("{", "}")):
        return text
    return "{{ " + json.dumps(text) + " }}"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "folder"


def _unique(name: str, taken: dict[str, int]) -> str:
    """``name`` as a call name, made unique with ``-2``, ``-3``... (a counter per name)."""
    base = _slug(name) or "call"
    candidate = base
    while candidate in taken:
        taken[base] = taken.get(base, 1) + 1
        candidate = f"{base}-{taken[base]}"
    taken[candidate] = taken.get(candidate, 1)
    return candidate


def _dump(value: Any) -> str:
    return str(yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10**6))[
        :-1
    ].removesuffix("\n...")


def _yaml(
    source: str,
    collection: Mapping[str, Any],
    calls: list[tuple[str, dict[str, Any]]],
    variables: Mapping[str, Any],
    todo: list[str],
    hide: Callable[[str], str],
) -> str:
    info = collection.get("info") if isinstance(collection.get("info"), dict) else {}
    title = info.get("name") if isinstance(info, dict) else None
    # Names are outside text: a line break must not start a line of YAML, a bidi override
    # must not reorder the comment, and a control is no character YAML reads.
    lines = [
        f"# Imported from the Postman collection {outside(source, hide)}"
        + (f" ({outside(title, hide)})" if title else "")
        + " by `callspec import postman`.",
        "version: 1",
    ]
    if todo:
        lines.append(
            "# TODO: set " + ", ".join(todo) + " (vars: or --var NAME=VALUE): Postman's "
            "dynamic variables have no equivalent in a spec, which renders the same request "
            "every time."
        )
    if variables:
        lines.append("vars:                     # the collection's variables these calls use")
        lines += [f"  {_dump(k)}: {_dump(v)}" for k, v in variables.items()]
    lines.append("calls:")
    for title_, call in calls:
        lines.append(f"  # from {outside(title_, hide)}")
        first = True
        for key, value in call.items():
            lines.append(f"  {'- ' if first else '  '}{_dump(key)}: {_dump(value)}")
            first = False
    return "\n".join(lines) + "\n"


def _check(text: str, source: str, names: list[str]) -> None:
    """The spec must be what spec.schema.json accepts, and hold exactly the calls meant."""
    from callspec.spec.documents import check_document
    from callspec.spec.loader import load_bytes

    doc = load_bytes(text.encode(), f"{source} (imported)")
    problems = check_document(doc, "spec")
    if problems:
        raise SpecError(problems)
    written = [call["name"] for call in doc.data["calls"]]
    if written != names or set(doc.data) - {"version", "vars", "calls"}:
        raise SpecError([Problem(Location(source), "", "the imported spec does not read back")])
