"""Profiles: finding the profiles file, loading it, and resolving ``extends`` chains.

A profile holds what many specs share: credentials (as templates, rendered
only for a live run), the API URL, limits, secret names, variables and default
call arguments.  This module owns discovery (``--profiles``, then
``$CALLSPEC_PROFILES``, then the nearest ``profiles.yaml`` from the spec's
folder upward) and flattening a chain parent-first, with cycles and unknown
names reported at the line that names them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from callspec.errors import Location, Problem, SpecError
from callspec.redact import Redactor, declare
from callspec.spec.documents import check_document
from callspec.spec.loader import Document, format_path, is_symlink_loop, load_file
from callspec.spec.validate import suggest

PROFILES_FILENAMES = ("profiles.yaml", "profiles.yml")
PROFILES_ENV = "CALLSPEC_PROFILES"


@dataclass(frozen=True)
class Sourced:
    """A value as written and where it was written.

    ``at`` is a Location, or a (document, path) pair looked up only when a
    message needs it: most values of a large spec are never reported.
    """

    value: Any
    at: Location | tuple[Document, tuple[str | int, ...]]

    @property
    def location(self) -> Location:
        at = self.at
        return at if isinstance(at, Location) else at[0].where(at[1])

    def path(self, default: str) -> str:
        """Where the value sits in its file (``calls[0].vars.who``), else ``default``."""
        return default if isinstance(self.at, Location) else format_path(self.at[1])


@dataclass(frozen=True)
class RuntimeSecret:
    """A secret a profile reads from the environment only to send (``secrets: [{env: NAME}]``)."""

    #: The environment variable that holds it.
    env: str
    #: The template variable that holds it.
    var: str
    #: Where the profile declares it, and its path there (``profiles.oncall.secrets[1]``).
    location: Location
    path: str
    #: What stands in for it until a live run (``example:``), checked and masked like it.
    example: str | None = None

    @property
    def placeholder(self) -> str:
        """``${PAGER_PIN}``: what stands in for it, without an example, while it is not set."""
        return "${" + self.env + "}"

    @property
    def stand_in(self) -> str:
        """What a plan holds while it is not set: the example, else the placeholder."""
        return self.example if self.example is not None else self.placeholder

    def missing(self) -> str:
        """Why a live run that needs it is refused, located where it is declared."""
        shown = "its example" if self.example is not None else self.placeholder
        return (
            f"{self.location}: {self.path}: {self.env} is not set: a live run needs it "
            f"(validate, render, --dry-run and --sandbox use {shown} in its place)"
        )


@dataclass(frozen=True)
class Profile:
    """A profile with its ``extends`` chain flattened (the child's settings win)."""

    name: str
    file: str
    chain: tuple[str, ...]
    auth_id: Sourced | None = None
    auth_token: Sourced | None = None
    api_url: str | None = None
    #: The answer service's base URL (``service:``), for calls with ``message:``.
    service: str | None = None
    rate: float | None = None
    max_calls: int | None = None
    secrets: tuple[str, ...] = ()
    #: Secrets read from the environment only to send (``secrets: [{env: NAME}]``).
    runtime: tuple[RuntimeSecret, ...] = ()
    #: The countries calls may go to (ISO 3166-1 alpha-2); empty: any.
    countries: tuple[str, ...] = ()
    vars: tuple[tuple[str, Sourced], ...] = ()
    defaults: tuple[tuple[str, Sourced], ...] = ()


def find_profiles_file(
    explicit: Path | None, spec_dir: Path, environ: Mapping[str, str]
) -> Path | None:
    """The profiles file a spec in ``spec_dir`` uses, or None when there is none:
    ``explicit`` (``--profiles``), else ``$CALLSPEC_PROFILES``, else the nearest
    ``profiles.yaml`` from ``spec_dir`` upward."""
    if explicit is not None:
        return explicit
    from_env = environ.get(PROFILES_ENV)
    if from_env:
        return Path(from_env)
    folder = spec_dir.resolve()
    for candidate_dir in (folder, *folder.parents):
        for name in PROFILES_FILENAMES:
            candidate = candidate_dir / name
            if candidate.is_file() or is_symlink_loop(candidate):
                return candidate  # a loop is reported when read, not passed over
    return None


def is_profiles_filename(path: Path) -> bool:
    """Folders given as PATHS skip files with a profiles file's name."""
    return path.name in PROFILES_FILENAMES


def _infinite_rates(doc: Document) -> list[Problem]:
    """YAML's ``.nan`` and ``.inf`` pass the schema's ``exclusiveMinimum`` (any comparison
    with NaN is false); a rate must be finite, or the run and its report would carry it."""
    profiles = doc.data.get("profiles") if isinstance(doc.data, dict) else None
    problems = []
    for name, body in profiles.items() if isinstance(profiles, dict) else ():
        rate = body.get("rate") if isinstance(body, dict) else None
        if isinstance(rate, float) and (math.isnan(rate) or rate == math.inf):
            path = ("profiles", name, "rate")
            message = f"{rate} is not a finite number of calls per second"
            problems.append(Problem(doc.where(path), format_path(path), message))
    return problems


def _unknown_countries(doc: Document) -> list[Problem]:
    """Country codes of the right shape (the schema's) that name no country with phone
    numbers: a typo (``UK`` for ``GB``) would silently refuse every call, or allow none."""
    profiles = doc.data.get("profiles") if isinstance(doc.data, dict) else None
    problems = []
    for name, body in profiles.items() if isinstance(profiles, dict) else ():
        codes = body.get("countries") if isinstance(body, dict) else None
        for i, code in enumerate(codes if isinstance(codes, list) else ()):
            from callspec.spec.numbers import unknown_country  # phonenumbers, only when used

            wrong = unknown_country(code) if isinstance(code, str) else None
            if wrong is not None:
                path = ("profiles", name, "countries", i)
                problems.append(Problem(doc.where(path), format_path(path), wrong))
    return problems


def declared_secrets(data: Any, environ: Mapping[str, str]) -> list[str]:
    """The secret values a profiles file declares, read from its raw data (it may not be
    valid): each ``secrets: [{env: NAME}]`` entry's environment value and example, and the
    literal value of each variable named in ``secrets``.  The schema's messages quote the
    file's values, so these are masked before the file is checked."""
    profiles = data.get("profiles") if isinstance(data, dict) else None
    found: list[str] = []
    for body in profiles.values() if isinstance(profiles, dict) else ():
        if not isinstance(body, dict):
            continue
        secrets = body.get("secrets")
        vars_ = body.get("vars")
        vars_ = vars_ if isinstance(vars_, dict) else {}
        for item in secrets if isinstance(secrets, list) else ():
            if isinstance(item, dict):
                env, example = item.get("env"), item.get("example")
                if isinstance(env, str) and environ.get(env):
                    found.append(environ[env])
                if isinstance(example, str):
                    found.append(example)
            elif isinstance(item, str) and isinstance(vars_.get(item), str):
                found.append(vars_[item])
    return found


class ProfilesFile:
    """One loaded, shape-checked profiles file; resolves profiles by name."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.file = doc.file
        self.profiles: dict[str, Any] = doc.data.get("profiles", {})

    @classmethod
    def load(
        cls,
        path: Path,
        display: str,
        redactor: Redactor | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> ProfilesFile:
        """Load and check a profiles file; raise :class:`SpecError` on any defect.

        ``redactor`` hides secrets in the values messages quote (see :func:`check_document`);
        it learns the secrets the file itself declares first, so a message quoting a value
        of this file masks them too, though the file is not valid.
        """
        doc = load_file(path, display)
        redactor = redactor or Redactor()
        secrets = declared_secrets(doc.data, environ or {})
        redactor.add(secrets)
        declare(secrets)  # and the command's last-resort message masks them
        problems = check_document(doc, "profiles", redactor.text) + _infinite_rates(doc)
        if not problems:  # (the schema says which values are codes at all)
            problems = _unknown_countries(doc)
        if problems:
            raise SpecError(problems)
        return cls(doc)

    def names(self) -> list[str]:
        """Profile names in file order."""
        return list(self.profiles)

    def credential_env(self) -> set[str]:
        """The environment variables the profiles' ``auth_id`` and ``auth_token`` read: callspec's
        own credentials, which no other template may read."""
        from callspec.spec.templates import references

        names: set[str] = set()
        for body in self.profiles.values():
            for key in ("auth_id", "auth_token"):
                names |= references(body.get(key))[1]
        return names

    def resolve(self, name: str, referenced_at: Location | None) -> Profile:
        """Flatten profile ``name``; an unknown name or a cycle is a :class:`SpecError`."""
        chain: list[str] = []
        current: str | None = name
        where = referenced_at
        while current is not None:
            if current not in self.profiles:
                known = ", ".join(self.names())
                hint = suggest(current, self.names())
                message = f"unknown profile '{current}'{hint} (defined in {self.file}: {known})"
                raise SpecError([Problem(where or Location(self.file), "", message)])
            if current in chain:
                cycle = " -> ".join([*chain, current])
                raise SpecError(
                    [Problem(where or Location(self.file), "", f"extends cycle: {cycle}")]
                )
            chain.append(current)
            parent = self.profiles[current].get("extends")
            where = self.doc.where(("profiles", current, "extends"))
            current = parent
        return self._flatten(name, tuple(reversed(chain)))

    def _flatten(self, name: str, chain: tuple[str, ...]) -> Profile:
        settings: dict[str, Any] = {}
        vars_: dict[str, Sourced] = {}
        defaults: dict[str, Sourced] = {}
        secrets: list[str] = []
        runtime: dict[str, RuntimeSecret] = {}  # by variable: a child's replaces its parent's
        for link in chain:
            body = self.profiles[link]
            base = ("profiles", link)
            for key, value in body.items():
                if key in ("vars", "defaults"):
                    target = vars_ if key == "vars" else defaults
                    for k, v in value.items():
                        target[k] = Sourced(v, (self.doc, (*base, key, k)))
                elif key == "secrets":
                    for i, item in enumerate(value):
                        var = item if isinstance(item, str) else item.get("var", item["env"])
                        if var not in secrets:
                            secrets.append(var)
                        if isinstance(item, dict):
                            path = (*base, key, i)
                            where = self.doc.where(path)
                            runtime[var] = RuntimeSecret(
                                item["env"], var, where, format_path(path), item.get("example")
                            )
                else:
                    settings[key] = Sourced(value, self.doc.where((*base, key)))

        def plain(key: str) -> Any:
            item = settings.get(key)
            return None if item is None else item.value

        return Profile(
            name=name,
            file=self.file,
            chain=chain,
            auth_id=settings.get("auth_id"),
            auth_token=settings.get("auth_token"),
            api_url=plain("api_url"),
            service=plain("service"),
            rate=plain("rate"),
            max_calls=plain("max_calls"),
            secrets=tuple(secrets),
            runtime=tuple(runtime.values()),
            countries=tuple(plain("countries") or ()),
            vars=tuple(vars_.items()),
            defaults=tuple(defaults.items()),
        )
