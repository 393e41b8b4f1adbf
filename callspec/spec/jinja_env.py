"""The Jinja side of rendering: the sandboxed, budgeted environment and its compiled templates.

:mod:`callspec.spec.templates` owns what rendering means (which strings are
templates, the errors, the names a template reads); this module holds what needs
Jinja itself, and is imported only when a string holds template syntax (``{{``,
``{%``, ``{#``), so a spec without templates never loads Jinja (about 70 ms).
Each distinct template string is compiled once per process.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Mapping
from typing import Any, cast

import jinja2
import jinja2.meta
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment

from callspec.spec import budget
from callspec.spec.budget import BudgetExceeded, FileClock, FileTimeExceeded
from callspec.spec.templates import (
    Columns,
    EnvVars,
    FileOverBudget,
    MissingColumn,
    OverBudget,
    RenderError,
    SandboxViolation,
    TemplateSyntaxError,
    UndefinedVariable,
    UnsetEnvironment,
)
from callspec.spec.validate import suggest


class _Missing(jinja2.UndefinedError):
    """What Jinja raises for an undefined value, with what was missing as facts: the
    object it was looked up on (a missing variable: Jinja's ``missing``) and its name."""

    def __init__(self, message: str, obj: Any, name: str) -> None:
        super().__init__(message)
        self.obj, self.name = obj, name

    def typed(self, context: Mapping[str, Any]) -> RenderError:
        """The :class:`RenderError` this is, with the nearest name as a suggestion."""
        if isinstance(self.obj, EnvVars):
            return UnsetEnvironment(
                f"template error: environment variable {self.name} is not set "
                f"(give a fallback with {{{{ env.{self.name} | default('...') }}}})",
                self.name,
            )
        if isinstance(self.obj, Columns):
            missing = self.obj.missing(self.name)
            return MissingColumn(f"template error: {missing}", missing.column)
        if self.obj is jinja2.utils.missing:
            names = [n for n in context if n not in _SCOPE]
            hint = suggest(self.name, names)
            message = f"template error: variable '{self.name}' is not defined{hint}"
            return UndefinedVariable(message, self.name)
        return RenderError(f"template error: {self.message}")


#: What templates see besides the variables (never suggested for a misspelled variable).
_SCOPE = ("env", "call", "row")


class _Strict(jinja2.StrictUndefined):
    """StrictUndefined that raises :class:`_Missing`, which knows what was missing."""

    __slots__ = ()

    def __init__(
        self,
        hint: str | None = None,
        obj: Any = jinja2.utils.missing,
        name: str | None = None,
        exc: type[jinja2.TemplateRuntimeError] = jinja2.UndefinedError,
    ) -> None:
        if exc is jinja2.UndefinedError:
            raised = functools.partial(_Missing, obj=obj, name=str(name))
            exc = cast("type[jinja2.TemplateRuntimeError]", raised)
        super().__init__(hint, obj, name, exc)


class _CodeGenerator(CodeGenerator):
    """Jinja's code generator with budget checks compiled in: loops, ``~`` and writes.

    (``{{ ... }}`` output is counted by the environment's ``finalize``; operators,
    calls and filters by the environment's hooks.)
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.loop_iterables: set[int] = set()  # ids of the nodes each {% for %} iterates

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        self.loop_iterables.add(id(node.iter))
        super().visit_For(node, frame)

    def visit(self, node: nodes.Node, *args: Any, **kwargs: Any) -> Any:
        if id(node) not in self.loop_iterables:
            return super().visit(node, *args, **kwargs)
        self.write("environment.counted(")  # the loop takes its items through the budget
        super().visit(node, *args, **kwargs)
        self.write(")")
        return None

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.checked(")
        super().visit_Concat(node, frame)
        self.write(")")

    # What {% call %} and {% filter %} blocks write (and a recursive loop's first pass)
    # does not pass through finalize: count it here.
    def start_write(self, frame: Frame, node: nodes.Node | None = None) -> None:
        super().start_write(frame, node)
        self.write("environment.written(")

    def end_write(self, frame: Frame) -> None:
        self.write(")")
        super().end_write(frame)


class _Env(SandboxedEnvironment):
    code_generator_class = _CodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "%"})
    # Hooks the generated code calls: a template's (and a block's) output, each loop's
    # iterable, the result of each ``~``.
    concat = staticmethod(budget.joined)
    counted = staticmethod(budget.counted)
    written = staticmethod(budget.written)

    @staticmethod
    def checked(value: Any) -> Any:
        return budget.current().value(value)

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.filters = {name: budget.budgeted_filter(name, f) for name, f in self.filters.items()}

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        budget.binop(operator, left, right)
        return budget.current().value(super().call_binop(context, operator, left, right))

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        args = budget.before_call(__obj, args, kwargs)
        return budget.after_call(__obj, super().call(__context, __obj, *args, **kwargs))

    def getattr(self, obj: Any, attribute: str) -> Any:
        # env.NAME looks the name up as a key, so an unset variable is reported by name.
        if isinstance(obj, EnvVars):
            if attribute in obj:
                return obj[attribute]
            return self.undefined(obj=obj, name=attribute)
        if isinstance(obj, Columns):  # a column first, never a dict method
            if attribute in obj:
                return obj[attribute]
            return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)


_ENV = _Env(
    undefined=_Strict, autoescape=False, keep_trailing_newline=True, finalize=budget.written
)
_CACHE: dict[str, _Compiled] = {}


class _Compiled:
    """A template, the names it reads, and whether its output is a function of them."""

    def __init__(self, text: str) -> None:
        self.template = _ENV.from_string(text)
        self.names = tuple(sorted(jinja2.meta.find_undeclared_variables(_ENV.parse(text))))
        self.pure = not any(word in text for word in _IMPURE)
        self.results: dict[tuple[Any, ...], str] = {}

    # A file of 10,000 calls renders the same defaults with the same variables again
    # and again: the output is remembered per (type, value) of the names read.
    def key(self, context: Mapping[str, Any]) -> tuple[Any, ...]:
        """What the output depends on (for a pure template)."""
        # str(v) too: an int written '+1415...' renders differently from '1415...'.
        return tuple((type(v), v, str(v)) for v in (context.get(n, _MISSING) for n in self.names))

    def remembered(self, key: tuple[Any, ...] | None) -> str | None:
        """The output for ``key``, if rendered before."""
        try:
            return None if key is None else self.results.get(key)
        except TypeError:  # an unhashable value (a list, a mapping): never remembered
            return None

    def render(self, context: Mapping[str, Any], key: tuple[Any, ...] | None) -> str:
        output = self.template.render(context)
        if key is not None and len(self.results) < RENDER_MEMO_MAX:
            with contextlib.suppress(TypeError):  # unhashable: see remembered()
                self.results[key] = output
        return output


_IMPURE = ("random", "lipsum", "cycler")
#: Outputs remembered per template (a fast path measured by ``bench/bench_validate.py``).
RENDER_MEMO_MAX = 1000
_MISSING = object()


def _compile(text: str) -> _Compiled:
    compiled = _CACHE.get(text)
    if compiled is None:
        compiled = _Compiled(text)
        _CACHE[text] = compiled
    return compiled


def render_text(text: str, context: Mapping[str, Any], clock: FileClock | None = None) -> str:
    """Render one string that holds template syntax (see :func:`templates.render_text`)."""
    compiled = _CACHE.get(text)
    key = compiled.key(context) if compiled is not None and compiled.pure else None
    if compiled is not None:
        output = compiled.remembered(key)
        if output is not None:
            return output  # rendered before: no cost, so no budget
    costs, token = budget.start(clock)
    try:
        costs.tick()  # a file past its deadline renders nothing more
        if compiled is None:
            compiled = _compile(text)
            key = compiled.key(context) if compiled.pure else None
        return compiled.render(context, key)
    except RenderError:
        raise  # callspec's own, from inside the template (a credential read)
    except FileTimeExceeded as e:
        raise FileOverBudget(f"template over budget: {e}") from e
    except BudgetExceeded as e:
        raise OverBudget(f"template over budget: {e}") from e
    except jinja2.TemplateSyntaxError as e:
        where = f" (template line {e.lineno})" if e.lineno and e.lineno > 1 else ""
        raise TemplateSyntaxError(f"template syntax error: {e.message}{where}") from e
    except _Missing as e:
        raise e.typed(context) from e
    except jinja2.UndefinedError as e:
        raise RenderError(f"template error: {e.message}") from e
    except SecurityError as e:
        raise SandboxViolation(f"template not allowed by the sandbox: {e}") from e
    except Exception as e:  # any exception a template can raise (1/0, bad filter args)
        raise RenderError(f"template error: {type(e).__name__}: {e}") from e
    finally:
        budget.stop(token)


@functools.lru_cache(maxsize=4096)
def references(text: str) -> tuple[frozenset[str], frozenset[str]]:
    """One template's names (each distinct text parsed once: a large spec repeats them)."""
    try:
        tree = _ENV.parse(text)
    except jinja2.TemplateSyntaxError:
        return frozenset(), frozenset()
    names = set(jinja2.meta.find_undeclared_variables(tree)) - {"env", "call"}
    environ = set()
    for attr in tree.find_all(nodes.Getattr):
        if isinstance(attr.node, nodes.Name) and attr.node.name == "env":
            environ.add(attr.attr)
    for item in tree.find_all(nodes.Getitem):
        key, target = item.arg, item.node
        env = isinstance(target, nodes.Name) and target.name == "env"
        if env and isinstance(key, nodes.Const) and isinstance(key.value, str):
            environ.add(key.value)
    return frozenset(names), frozenset(environ)
