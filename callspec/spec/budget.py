"""Template budgets: what rendering one template may cost, checked while it renders.

Jinja's sandbox stops attribute escapes, not resource exhaustion: ``'a' * 10**9``
takes a gigabyte and ``10 ** 10**8`` never finishes.  This module owns the
limits (:class:`Limits`) and the checks that the environment in jinja_env.py runs
from its hooks: before an operation that can make a value much larger than its
inputs (``*``, ``**``, ``%``, ``+``, size-multiplying filters and ``str``
methods), after every filter, call and operator (the size of what came out),
on every loop iteration (a count across nested loops), and in all of them a
deadline for the file.  A breach raises :class:`BudgetExceeded`.

What stays out of reach: a single C-level operation on values within the limits
cannot be interrupted (sorting a list of a million items takes about a second),
and memory is bounded per value, not per process.

Longer than most: every hook of the Jinja sandbox that can make a value grow
checks against the same budget, and they are easiest to audit side by side.
"""

from __future__ import annotations

import contextvars
import functools
import itertools
import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from callspec.spec.estimates import (
    FILTER_ESTIMATES,
    GLOBAL_ESTIMATES,
    METHOD_ESTIMATES,
    arg,
    format_size,
    is_int,
    percent_size,
)

_SIZED = (str, bytes, list, tuple, dict, set, frozenset)


@dataclass(frozen=True)
class Limits:
    """What one template may cost; the defaults are callspec's contract (docs/templates.md)."""

    #: Characters of a string, items of a list or mapping.
    max_size: int = 1 << 20
    #: Magnitude of an integer.
    max_int: int = 10**18
    #: Loop iterations in one template, nested loops included.
    max_steps: int = 100_000
    #: Rendering time of one file's templates, in seconds.
    seconds: float = 5.0


class BudgetExceeded(Exception):
    """A template went over one of its :class:`Limits`; the message says which."""


class FileTimeExceeded(BudgetExceeded):
    """The file's templates together took longer than ``Limits.seconds``: every template of
    the file rendered after this fails alike."""


_DEFAULT = Limits()


class FileClock:
    """The rendering time a file's templates have spent, against ``limits.seconds``."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or _DEFAULT
        self.spent = 0.0


class Budget:
    """The running costs of one template being rendered."""

    def __init__(self, clock: FileClock) -> None:
        self.clock = clock
        self.limits = clock.limits
        self.steps = 0
        self.output = 0  # characters written by {{ ... }}, see written()
        self.started = time.monotonic()
        self.deadline = self.started + self.limits.seconds - clock.spent

    def tick(self) -> None:
        """Refuse to go on past the file's deadline."""
        if time.monotonic() > self.deadline:
            raise FileTimeExceeded(
                f"rendering this file's templates took more than {self.limits.seconds:g} s"
            )

    def step(self) -> None:
        """One loop iteration (see :func:`counted`, which does the same inline)."""
        self.steps += 1
        if self.steps > self.limits.max_steps:
            raise BudgetExceeded(f"more than {self.limits.max_steps:,} loop iterations")
        self.tick()

    def size(self, n: int) -> None:
        """Refuse a value of ``n`` characters or items (made, or about to be made)."""
        if n > self.limits.max_size:
            raise BudgetExceeded(
                f"a value of {n:,} characters or items (the limit is {self.limits.max_size:,})"
            )

    def magnitude(self, log10: float) -> None:
        """Refuse an integer of magnitude ``10 ** log10`` when it is over the limit."""
        if log10 > math.log10(self.limits.max_int):
            limit = self.limits.max_int
            power = len(str(limit)) - 1
            shown = f"10^{power}" if limit == 10**power else f"{limit:,}"
            raise BudgetExceeded(
                f"an integer of about {math.floor(log10) + 1:,} digits "
                f"(the limit is {shown} in magnitude)"
            )

    def value(self, value: Any) -> Any:
        """``value``, once it is known to be within the limits."""
        if isinstance(value, int) and not isinstance(value, bool):
            if abs(value) > self.limits.max_int:
                self.magnitude(value.bit_length() * math.log10(2))
        elif isinstance(value, _SIZED):
            self.size(weight(value, self.limits.max_size))
        return value

    def finish(self) -> None:
        self.clock.spent += time.monotonic() - self.started


_CURRENT: contextvars.ContextVar[Budget | None] = contextvars.ContextVar("budget", default=None)


def weight(value: Any, limit: int, depth: int = 0) -> int:
    """How large ``value`` is: a string's characters; a container's items plus what its
    items weigh, counted until past ``limit`` (a list of a million references to one
    megabyte string is a terabyte once written, though it holds a million items)."""
    if isinstance(value, str | bytes):
        return len(value)
    if isinstance(value, dict):
        items: Iterable[Any] = itertools.chain.from_iterable(value.items())
    elif isinstance(value, list | tuple | set | frozenset):
        items = value
    else:
        return 0
    total = len(value)
    if depth >= _MAX_DEPTH:  # deeper (or a container that holds itself): items only
        return total
    for item in items:
        if isinstance(item, _SIZED):
            total += weight(item, limit - total, depth + 1)
            if total > limit:
                break
    return total


_MAX_DEPTH = 8


def current() -> Budget:
    """The budget of the template being rendered (outside a render: a fresh default one)."""
    return _CURRENT.get() or Budget(FileClock())


def start(clock: FileClock | None) -> tuple[Budget, contextvars.Token[Budget | None]]:
    """A new budget, current for one template (its file's clock, else its own); see stop()."""
    budget = Budget(clock or FileClock())
    return budget, _CURRENT.set(budget)


def stop(token: contextvars.Token[Budget | None]) -> None:
    """End the current template's budget: its time counts against its file."""
    budget = _CURRENT.get()
    if budget is not None:
        budget.finish()
    _CURRENT.reset(token)


# --- the checks the environment's hooks run ------------------------------------------------


def counted(iterable: Iterable[Any]) -> Iterator[Any]:
    """A loop's iterable, counting each iteration against the budget."""
    budget = current()
    steps, deadline = budget.limits.max_steps, budget.deadline
    clock = time.monotonic
    for item in iterable:
        budget.steps += 1
        if budget.steps > steps or clock() > deadline:
            budget.step()  # raises, with the words for the limit that was passed
        yield item


def written(value: Any) -> Any:
    """A ``{{ ... }}`` value about to be written: what a template writes is bounded in all.

    Its output, ``{% set %}`` blocks and macros together: a block filled in a loop
    would otherwise hold a gigabyte before anything joins it.
    """
    if not isinstance(value, str):
        value = str(value)  # as Jinja would write it; it is not converted twice
    budget = current()
    budget.output += len(value)
    if budget.output > budget.limits.max_size:
        raise BudgetExceeded(
            f"it writes more than {budget.limits.max_size:,} characters "
            "(its output, blocks and macros together)"
        )
    return value


def joined(parts: Iterable[str]) -> str:
    """``"".join(parts)``: a template's output, a block's, refused when too long.

    The parts are taken before they are measured: what they hold beyond the
    template's constant text is bounded already, by :func:`written`.
    """
    kept = list(parts)
    current().size(sum(map(len, kept)))
    return "".join(kept)


def binop(operator: str, left: Any, right: Any) -> None:
    """Before ``left <operator> right``: refuse what would be too large to make."""
    budget = current()
    budget.tick()
    if operator == "**":
        if is_int(left) and is_int(right) and right > 0 and abs(left) > 1:
            budget.magnitude(right * math.log10(abs(left)))
    elif operator == "*":
        for seq, times in ((left, right), (right, left)):
            if isinstance(seq, _SIZED) and is_int(times):
                budget.size(weight(seq, budget.limits.max_size) * max(times, 0))
    elif operator == "+":
        if isinstance(left, _SIZED) and isinstance(right, _SIZED):
            limit = budget.limits.max_size
            budget.size(weight(left, limit) + weight(right, limit))
    elif operator == "%" and isinstance(left, str):
        budget.size(percent_size(left, right))


def before_call(obj: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> tuple[Any, ...]:
    """Before a template calls ``obj``: refuse what would be too large; the arguments to use."""
    from jinja2.runtime import LoopContext  # loaded already: a template is rendering

    budget = current()
    budget.tick()
    if isinstance(obj, LoopContext) and args:  # loop(children) in a recursive loop
        return (counted(args[0]), *args[1:])
    if "_loop_vars" in kwargs or "_block_vars" in kwargs:  # Jinja's, for pass_context
        kwargs = {k: v for k, v in kwargs.items() if k not in ("_loop_vars", "_block_vars")}
    wrapped = getattr(obj, "__wrapped__", None)  # str.format, as the sandbox wraps it
    text = getattr(wrapped, "__self__", None)
    method = getattr(wrapped, "__name__", "")
    if isinstance(text, str) and method in ("format", "format_map"):
        if method == "format_map":
            budget.size(format_size(text, (), args[0] if args else {}))
        else:
            budget.size(format_size(text, args, kwargs))
        return args
    receiver = getattr(obj, "__self__", None)
    name = getattr(obj, "__name__", "")
    if isinstance(receiver, str | bytes):
        if name == "join" and args:
            return (joined_items(receiver, args[0]), *args[1:])
        estimate = METHOD_ESTIMATES.get(name)
    else:
        estimate = GLOBAL_ESTIMATES.get(name)
    if estimate is not None:
        budget.size(estimate(receiver, args, kwargs))
    return args


def after_call(obj: Any, result: Any) -> Any:
    """After a template called ``obj``: its result, and a list it grew, within the limits."""
    budget = current()
    receiver = getattr(obj, "__self__", None)
    if isinstance(receiver, list | dict | set):  # x.extend(x) doubles x and returns None
        budget.value(receiver)
    return budget.value(result)


def budgeted_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` as a filter that keeps within the budget (Jinja's pass_context etc. kept)."""
    estimate = FILTER_ESTIMATES.get(name)
    # Filters marked pass_context (and the like) get Jinja's context before their value.
    skip = 1 if hasattr(func, "jinja_pass_arg") else 0

    @functools.wraps(func)
    def checked(*args: Any, **kwargs: Any) -> Any:
        budget = current()
        budget.tick()
        if len(args) > skip:
            value, rest = args[skip], args[skip + 1 :]
            if isinstance(value, Iterator):  # map(), select(): weighed as it is consumed
                value = weighed(value)
                args = (*args[:skip], value, *rest)
            if name == "join" and arg(rest, kwargs, 1, "attribute", None) is None:
                items = joined_items(arg(rest, kwargs, 0, "d", ""), value)
                args = (*args[:skip], items, *rest)
            elif estimate is not None:
                budget.size(estimate(value, rest, kwargs))
        return budget.value(func(*args, **kwargs))

    return checked


def weighed(items: Iterator[Any]) -> Iterator[Any]:
    """``items``, refused once what they weigh together passes the limit: a filter that
    collects a generator (``list``, ``sort``) would hold all of it before it is measured."""
    budget = current()
    total = 0
    for item in items:
        total += 1 + weight(item, budget.limits.max_size)
        budget.size(total)
        yield item


def joined_items(separator: Any, iterable: Iterable[Any]) -> list[Any]:
    """The items ``separator.join`` would join, taken one by one until they are too long."""
    budget = current()
    between = len(str(separator))
    items: list[Any] = []
    size = 0
    for item in iterable:
        size += (between if items else 0) + (len(item) if isinstance(item, str) else len(str(item)))
        budget.size(size)
        items.append(item)
    return items
