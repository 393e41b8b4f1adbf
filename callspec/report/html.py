"""The HTML report: one self-contained page built from the JSON report document alone.

The page reads nothing from the network (inline CSS, a little inline script)
and stays readable with scripts off; scripts add sorting, the outcome filter,
the search box and the request bodies.  Every value from a spec or a server goes
through Jinja2's autoescaping; the bodies sit once each in a JSON list inside
``<script type="application/json">`` with ``<``, ``>`` and ``&`` escaped, so a
run of many calls sharing a body pays for it once.  The view follows the URL
fragment (``#outcome=failed&q=text&sort=-ms``), so a link or a headless browser
can ask for it.

Built to open in seconds with 20,000 calls (``bench/bench_html.py``): the table
comes in parts of :data:`PART_ROWS` rows, each its own fixed-layout table with
``content-visibility: auto``, so the browser lays out only the parts in view;
no ``<details>`` per row (each costs the browser a shadow tree); the
timeline's touching marks of a kind are one rect; the script's listeners are
delegated, and the search index is built on the first search.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from importlib import resources
from typing import TYPE_CHECKING, Any, TextIO

from markupsafe import Markup

from callspec.redact import Redactor
from callspec.report.base import Reporter
from callspec.report.json import escape_raw
from callspec.report.utf8 import utf8_safe_value
from callspec.report.verdicts import FATE_WORDS, asks_ack, call_words, chain_words
from callspec.text import escape_controls

if TYPE_CHECKING:
    import jinja2

OUTCOMES = ("fired", "queued", "failed", "unknown", "skipped", "invalid")
TIMELINE_MAX_ROWS = 500  # more calls than this share rows, a run of calls per row
TIMELINE_WIDTH = 1000  # SVG user units of the time axis
ROW_HEIGHT = 6
MERGE_GAP = 0.5  # marks of a row closer than this (SVG units) are drawn as one
MARK_ORDER = ("ok", "maybe", "bad")  # drawn in this order: failures on top
PART_ROWS = 100  # the table comes in parts of this many rows, each laid out when in view
PART_ROW_PX = 24  # what the browser assumes a row of a part not yet in view measures
COLUMNS = (
    ("spec", "spec"),
    ("call", "call"),
    ("tags", "tags"),
    ("profiles", "profiles"),
    ("outcome", "outcome"),
    ("status", "status"),
    ("uuid", "request_uuid"),
    ("ms", "ms"),
)


def _epoch_ms(stamp: Any) -> float | None:
    """Milliseconds since the epoch of an ISO 8601 time, or None for anything else."""
    if not isinstance(stamp, str):
        return None
    try:  # Python 3.10 does not read a trailing Z
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() * 1000
    except ValueError:
        return None


def _json_in_script(value: Any) -> Markup:
    """``value`` as JSON safe inside ``<script>``: no ``</script>`` or ``<!--`` can form."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escape)
    return Markup(escape_raw(text))  # escaped above, for this one context


def _bodies(calls: Sequence[Mapping[str, Any]]) -> tuple[list[Any], list[int]]:
    """Each distinct body once; and the index of each call's body in that list."""
    ids: dict[str, int] = {}
    bodies: list[Any] = []
    refs = []
    for call in calls:
        key = json.dumps(call.get("body"), sort_keys=True)
        if key not in ids:
            ids[key] = len(bodies)
            bodies.append(call.get("body"))
        refs.append(ids[key])
    return bodies, refs


def _mark_class(attempt: Mapping[str, Any]) -> str:
    status = attempt.get("status")
    if isinstance(status, int) and 200 <= status < 300:
        return "ok"
    return "maybe" if attempt.get("maybe_sent") else "bad"


def _timeline(calls: Sequence[Mapping[str, Any]], stopped: Any = None) -> dict[str, Any]:
    """Rows and marks of the SVG timeline on a shared axis; rows grouped past the limit.

    A run that stopped sending (``stopped``: ``--bail``, a full journal) gets its
    stop point: ``stop_x`` on the same axis, drawn across every row.
    """
    spans = []
    for index, call in enumerate(calls):
        for attempt in call.get("attempts") or ():
            start = _epoch_ms(attempt.get("started"))
            if start is not None:
                spans.append((index, start, float(attempt.get("duration_ms") or 0), attempt))
    if not spans:
        return {"rows": 0, "marks": [], "span_ms": 0, "per_row": 1, "stop_x": None}
    first = min(s for _, s, _, _ in spans)
    last = max(s + d for _, s, d, _ in spans)
    stop = _epoch_ms(stopped.get("time")) if isinstance(stopped, Mapping) else None
    if stop is not None:
        stop = max(stop, first)  # a clock step back must not draw it off the axis
        last = max(last, stop)
    span = max(last - first, 1.0)
    per_row = -(-len(calls) // TIMELINE_MAX_ROWS) if len(calls) > TIMELINE_MAX_ROWS else 1
    scale = TIMELINE_WIDTH / span
    # One rect per run of touching marks of a kind in a row: a grouped row of 40 calls
    # sent 20 ms apart is one rect, not 40 (thousands of rects slow the page down).
    runs: dict[tuple[int, str], list[list[float]]] = {}
    for index, start, duration, attempt in sorted(spans, key=lambda s: (s[0] // per_row, s[1])):
        x, w = (start - first) * scale, max(duration * scale, 1.0)
        row = runs.setdefault(((index // per_row) * ROW_HEIGHT, _mark_class(attempt)), [])
        if row and x <= row[-1][0] + row[-1][1] + MERGE_GAP:
            row[-1][1] = max(row[-1][1], x + w - row[-1][0])
        else:
            row.append([x, w])
    marks = [
        {"x": round(x, 1), "y": y, "w": round(w, 1), "cls": cls}
        for cls in MARK_ORDER
        for (y, kind), row in sorted(runs.items())
        if kind == cls
        for x, w in row
    ]
    rows = -(-len(calls) // per_row)
    stop_x = None if stop is None else round((stop - first) * scale, 1)
    return {
        "rows": rows,
        "marks": marks,
        "span_ms": round(span),
        "per_row": per_row,
        "stop_x": stop_x,
    }


def _duration_s(report: Mapping[str, Any]) -> str:
    start, end = _epoch_ms(report.get("started")), _epoch_ms(report.get("finished"))
    return f"{(end - start) / 1000:.3f} s" if start is not None and end is not None else "?"


def _uuids(value: Any) -> str:
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return "" if value is None else str(value)


def _ms(value: Any) -> str:
    return f"{value:.1f}" if isinstance(value, int | float) else ""


def _visible(value: Any) -> Any:
    """A value as the page shows it: text with its controls escaped (Markup is the page's)."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return escape_controls(value)
    return value


def _template_source(name: str) -> str:
    """A template of ``callspec/report/templates`` (the page includes its sections by name)."""
    return resources.files("callspec.report").joinpath("templates", name).read_text("utf-8")


@functools.cache
def _env() -> jinja2.Environment:
    """The page's Jinja environment (Jinja loads with the first page, not with callspec)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_template_source),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    # Every value shown passes the text rule's last step (its masking was the document's):
    # a control or bidi character from outside shows as its escape, never acts.
    env.finalize = _visible
    env.filters["uuids"] = _uuids
    env.filters["ms"] = _ms
    return env


def _verdicts(report: Mapping[str, Any], calls: Sequence[Mapping[str, Any]]) -> list[Any]:
    """What the page opens with: each chain's verdict in words and its steps in order, then
    each page of its own that asked to be acknowledged (as every output words them)."""
    found: list[dict[str, Any]] = []
    for chain in report.get("chains") or ():
        verdict = chain["verdict"]
        ok = verdict in ("acknowledged", "planned") or (
            verdict == "answered" and chain["until"] != "acknowledged"
        )
        steps = [
            {**step, "words": FATE_WORDS.get(step["fate"], step["fate"])} for step in chain["steps"]
        ]
        found.append({"ok": ok, "words": _sentence(chain_words(chain)), "steps": steps})
    if report.get("mode") != "dry-run":
        for call in calls:
            if asks_ack(call):
                ok = call["acknowledged"] is True
                found.append({"ok": ok, "words": _sentence(call_words(call)), "steps": []})
    return found


def _sentence(words: str) -> str:
    return words[:1].upper() + words[1:]


def render_html(report: Mapping[str, Any]) -> str:
    """The HTML page of a JSON report document (``schemas/report.schema.json``)."""
    calls = list(report.get("calls") or ())
    bodies, refs = _bodies(calls)
    template = _env().from_string(
        resources.files("callspec.report").joinpath("templates/report.html.j2").read_text("utf-8")
    )
    summary = report.get("summary") or {}
    return template.render(
        report=report,
        calls=list(zip(calls, refs, strict=True)),
        outcomes=OUTCOMES,
        summary=summary,
        verdicts=_verdicts(report, calls),
        fate_words=FATE_WORDS,  # a call's fate, said as the verdicts say it
        duration=_duration_s(report),
        options=json.dumps(report.get("options") or {}, ensure_ascii=False, sort_keys=True),
        timeline=_timeline(calls, report.get("stopped")),
        width=TIMELINE_WIDTH,
        row_height=ROW_HEIGHT,
        # A lone surrogate spelled out as every output spells it (the values shown are, by
        # the finalizer's escape).
        bodies=_json_in_script(utf8_safe_value(bodies)),
        columns=COLUMNS,
        part_rows=PART_ROWS,
        row_px=PART_ROW_PX,
    )


class HtmlReporter(Reporter):
    """The HTML page of the masked report document.

    The values are masked before they enter the page; the page itself is never
    passed through the redactor, whose replacements would rewrite its code and
    its JSON (a short secret such as a PIN matches numbers of the script).
    """

    def render(self, report: Mapping[str, Any], redactor: Redactor, stream: TextIO) -> None:
        stream.write(render_html(report))
