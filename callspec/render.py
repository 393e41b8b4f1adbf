"""Jinja rendering of spec values: sandboxed, strict, and cached.

This module owns turning a value as written (a string that may hold a template,
or a list or mapping of them) into the value with every template rendered.
The environment is Jinja's :class:`SandboxedEnvironment` with a strict
undefined: a missing variable, an unset environment variable, a syntax error
or a sandbox violation is a :class:`RenderError` whose message a person reads.
Each distinct template string is compiled once per process.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

import jinja2
import jinja2.meta
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

_MARKERS = ("{{", "{%", "{#")


class RenderError(Exception):
    """A template could not be rendered; the message says why, without a traceback."""


class EnvVars(Mapping[str, str]):
    """The process environment as seen by templates: ``env.NAME``, ``env['NAME']``."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = os.environ if environ is None else environ

    def __getitem__(self, key: str) -> str:
        return self._environ[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._environ)

    def __len__(self) -> int:
        return len(self._environ)

    # By identity, so rendered templates can be remembered per environment.
    __hash__ = object.__hash__

    def __eq__(self, other: object) -> bool:
        return self is other


class _Strict(jinja2.StrictUndefined):
    """StrictUndefined whose messages name what is missing in callspec's terms."""

    @property
    def _undefined_message(self) -> str:
        name = self._undefined_name
        if isinstance(self._undefined_obj, EnvVars):
            return (
                f"environment variable {name} is not set "
                f"(give a fallback with {{{{ env.{name} | default('...') }}}})"
            )
        if self._undefined_obj is jinja2.utils.missing:
            return f"variable '{name}' is not defined"
        msg: str = super()._undefined_message
        return msg


class _Env(SandboxedEnvironment):
    def getattr(self, obj: Any, attribute: str) -> Any:
        # env.NAME looks the name up as a key, so an unset variable is reported by name.
        if isinstance(obj, EnvVars):
            if attribute in obj:
                return obj[attribute]
            return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)


_ENV = _Env(undefined=_Strict, autoescape=False, keep_trailing_newline=True)
_CACHE: dict[str, _Compiled] = {}


def has_template(text: str) -> bool:
    """True when ``text`` holds Jinja markup."""
    return "{" in text and any(m in text for m in _MARKERS)


class _Compiled:
    """A template, the names it reads, and whether its output is a function of them."""

    def __init__(self, text: str) -> None:
        self.template = _ENV.from_string(text)
        self.names = tuple(sorted(jinja2.meta.find_undeclared_variables(_ENV.parse(text))))
        self.pure = not any(word in text for word in _IMPURE)
        self.results: dict[tuple[Any, ...], str] = {}

    def render(self, context: Mapping[str, Any]) -> str:
        # A file of 10,000 calls renders the same defaults with the same variables
        # again and again: remember the output per (type, value) of the names read.
        if not self.pure:
            return self.template.render(context)
        try:
            # str(v) too: an int written '+1415...' renders differently from '1415...'.
            key = tuple(
                (type(v), v, str(v)) for v in (context.get(n, _MISSING) for n in self.names)
            )
            cached = self.results.get(key)
        except TypeError:  # an unhashable value (a list, a mapping): render every time
            return self.template.render(context)
        if cached is None:
            cached = self.template.render(context)
            if len(self.results) < 1000:
                self.results[key] = cached
        return cached


_IMPURE = ("random", "lipsum", "cycler")
_MISSING = object()


def _compile(text: str) -> _Compiled:
    compiled = _CACHE.get(text)
    if compiled is None:
        compiled = _Compiled(text)
        _CACHE[text] = compiled
    return compiled


def render_text(text: str, context: Mapping[str, Any]) -> str:
    """Render one string; plain strings come back unchanged at no cost."""
    if not has_template(text):
        return text
    try:
        return _compile(text).render(context)
    except jinja2.TemplateSyntaxError as e:
        where = f" (template line {e.lineno})" if e.lineno and e.lineno > 1 else ""
        raise RenderError(f"template syntax error: {e.message}{where}") from e
    except jinja2.UndefinedError as e:
        raise RenderError(f"template error: {e.message}") from e
    except SecurityError as e:
        raise RenderError(f"template not allowed by the sandbox: {e}") from e
    except Exception as e:  # any exception a template can raise (1/0, bad filter args)
        raise RenderError(f"template error: {type(e).__name__}: {e}") from e


def render_value(value: Any, context: Mapping[str, Any]) -> Any:
    """Render every string inside ``value`` (lists and mappings included)."""
    if isinstance(value, str):
        return render_text(value, context) if "{" in value else value
    if isinstance(value, list):
        return [render_value(v, context) for v in value]
    if isinstance(value, dict):
        return {k: render_value(v, context) for k, v in value.items()}
    return value
