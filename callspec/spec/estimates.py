"""Upper bounds of what an operation that can multiply sizes would make, before it runs.

``'a' * 10**9``, ``'a' | center(10**9)`` or ``'%1000000000s' % x`` would allocate a
gigabyte before any size check after the fact could refuse it.  For each such
operation a template can reach (operators, Jinja filters, ``str`` methods, Jinja's
globals) this module estimates, from the arguments alone and cheaply, how long
its result could be; budget.py refuses an estimate over the limit.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Callable, Mapping
from typing import Any


def is_int(value: Any) -> bool:
    """An int that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def arg(args: tuple[Any, ...], kwargs: Mapping[str, Any], i: int, name: str, default: Any) -> Any:
    """Argument ``i`` (or keyword ``name``) of a call, else ``default``."""
    return args[i] if len(args) > i else kwargs.get(name, default)


def percent_size(text: str, args: Any) -> int:
    """An upper bound of the length of ``text % args`` (widths, precisions, values)."""
    values = list(args.values()) if isinstance(args, Mapping) else args
    values = list(values) if isinstance(values, tuple) else [values]
    longest = max((len(v) for v in values if isinstance(v, str)), default=20)
    starred = max((v for v in values if is_int(v)), default=0)
    size = len(text)
    for match in _PERCENT.finditer(text):
        width, precision = (
            starred if g == "*" else int(g or 0) for g in (match["width"], match["precision"])
        )
        size += max(width, precision) + longest
    return size


def format_size(text: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    """An upper bound of the length of ``text.format(*args, **kwargs)``."""
    values = [*args, *kwargs.values()]
    longest = max((len(v) for v in values if isinstance(v, str)), default=20)
    nested = max((v for v in values if is_int(v)), default=0)
    size = len(text)
    try:
        fields = list(string.Formatter().parse(text))
    except ValueError:  # a malformed format string: str.format says what is wrong
        return size
    for _, field, spec, _ in fields:
        if field is not None:
            numbers = [int(n) for n in re.findall(r"\d+", spec or "")]
            size += max([*numbers, nested if "{" in (spec or "") else 0]) + longest
    return size


_PERCENT = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(?P<width>\*|\d+)?(?:\.(?P<precision>\*|\d+))?")


# Operations whose result can be far larger than their inputs: an upper bound of its size,
# from (the value operated on, the other arguments, the keyword arguments).
Estimate = Callable[[Any, tuple[Any, ...], Mapping[str, Any]], int]


def _padded(value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    width = arg(args, kwargs, 0, "width", 80)
    return max(len(str(value)), width if is_int(width) else 0)


def _replaced(value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    text = str(value)
    old, new = str(arg(args, kwargs, 0, "old", "")), str(arg(args, kwargs, 1, "new", ""))
    count = arg(args, kwargs, 2, "count", None)
    times = text.count(old) if old else len(text) + 1
    if is_int(count) and count >= 0:
        times = min(times, count)
    return len(text) + times * max(len(new) - len(old), 0)


def _indented(value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    text = str(value)
    width = arg(args, kwargs, 0, "width", 4)
    prefix = len(width) if isinstance(width, str) else width if is_int(width) else 0
    return len(text) + (text.count("\n") + 1) * max(prefix, 0)


def _expanded(value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    size = arg(args, kwargs, 0, "tabsize", 8)
    text = str(value)
    return len(text) + text.count("\t") * (size if is_int(size) and size > 0 else 0)


def _wrapped(value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    text = str(value)
    wrapstring = arg(args, kwargs, 2, "wrapstring", None) or "\n"
    return len(text) + (len(text) + 1) * len(str(wrapstring))


def _filled(value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    count = arg(args, kwargs, 0, "linecount", 0)  # batch's linecount, slice's slices
    return count if is_int(count) else 0


def _lipsum(value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    n, longest = arg(args, kwargs, 0, "n", 5), arg(args, kwargs, 3, "max", 100)
    return (n if is_int(n) else 5) * (longest if is_int(longest) else 100) * 12


def _json_indented(value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    indent = arg(args, kwargs, 0, "indent", None)
    if not is_int(indent) or indent <= 0:
        return 0
    try:
        compact = len(json.dumps(value, default=str))
    except (TypeError, ValueError):  # the filter itself says what is wrong
        return 0
    return compact * (int(indent) + 1)  # at worst a line per character, each indented


def _formatted(value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    return percent_size(str(value), kwargs or args)


#: Filters by name (the value is their first argument after any context).
FILTER_ESTIMATES: dict[str, Estimate] = {
    "center": _padded,
    "replace": _replaced,
    "indent": _indented,
    "wordwrap": _wrapped,
    "format": _formatted,
    "batch": _filled,
    "slice": _filled,
    "tojson": _json_indented,
}
#: Methods of str and bytes by name (the value is the string itself).
METHOD_ESTIMATES: dict[str, Estimate] = {
    "center": _padded,
    "ljust": _padded,
    "rjust": _padded,
    "zfill": _padded,
    "replace": _replaced,
    "expandtabs": _expanded,
}
#: Functions templates may call (Jinja's globals) by name.
GLOBAL_ESTIMATES: dict[str, Estimate] = {"generate_lorem_ipsum": _lipsum}
