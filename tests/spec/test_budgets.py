"""Template budgets: sizes, integers, loop iterations and time, refused as located errors.

The committed examples tests/examples/invalid/template-budget-*.yaml pin the CLI's
messages; these tests cover each hook (operators, filters, methods, loops, output,
the file's deadline) and check that templates within the budget render exactly as
Jinja's own sandbox renders them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jinja2.sandbox import SandboxedEnvironment
from support import RunCli, call_lines, calls_file, run_callspec

from callspec.errors import ExitCode, SpecError
from callspec.spec.budget import Limits
from callspec.spec.plan import PlanOptions, build_plan
from callspec.spec.templates import RenderError, render_text

MIB = 1 << 20
OVER = "template over budget: "


@pytest.mark.parametrize(
    ("template", "message"),
    [
        # checked before the value is made
        ("{{ ('a' * 10**9) | length }}", "a value of 1,000,000,000 characters or items"),
        ("{{ [1, 2, 3] * 10**8 }}", "a value of 300,000,000 characters or items"),
        ("{{ 10 ** (10 ** 8) }}", "an integer of about 100,000,001 digits"),
        ("{{ 2 ** 62 }}", "an integer of about 19 digits (the limit is 10^18 in magnitude)"),
        ("{{ 'a' | center(10**9) }}", "a value of 1,000,000,000 characters"),
        ("{{ 'a' | center(1000000000) }}", "a value of 1,000,000,000 characters"),  # folded
        ("{{ 'a'.ljust(10**9) }}", "a value of 1,000,000,000 characters"),
        ("{{ 'a'.zfill(10**9) }}", "a value of 1,000,000,000 characters"),
        ("{{ '\t'.expandtabs(10**9) }}", "a value of 1,000,000,001 characters"),
        ("{{ ('ab' * 500000) | replace('a', 'x' * 100) }}", "a value of 50,500,000 characters"),
        ("{{ ('ab' * 500000) | replace('', 'x') }}", "a value of 2,000,001 characters"),
        ("{{ ('ab' * 500000).replace('b', 'yy') }}", "a value of 1,500,000 characters"),
        ("{{ 'x\ny' | indent(10**9) }}", "a value of 2,000,000,003 characters"),
        ("{{ 'abc' | wordwrap(1, wrapstring='z' * 10**6) }}", "a value of 4,000,003 characters"),
        ("{{ '%1000000000s' | format('a') }}", "a value of 1,000,000,013 characters"),
        ("{{ '%*s' | format(10**9, 'a') }}", "a value of 1,000,000,004 characters"),
        ("{{ '%1000000000d' % 5 }}", "a value of 1,000,000,0"),
        ("{{ '{:>1000000000}'.format('a') }}", "a value of 1,000,000,015 characters"),
        ("{{ '{0}{0}{0}'.format('a' * 10**6) }}", "a value of 3,000,009 characters"),
        ("{{ range(100000) | join('x' * 1000) }}", "characters or items (the limit is 1,048,576)"),
        ("{{ ('x' * 1000).join(range(100000) | map('string')) }}", "the limit is 1,048,576"),
        ("{{ range(10) | tojson(10**9) }}", "a value of 14,000,000,014 characters"),
        ("{{ range(10) | batch(10**9, 'x') | list }}", "a value of 1,000,000,000"),
        ("{{ range(3) | slice(10**9) | list }}", "a value of 1,000,000,000"),
        ("{{ lipsum(10**6) }}", "a value of 1,200,000,000 characters"),
        # checked after, where the value grows by at most its inputs
        ("{{ ('1' * 4000) | int }}", "an integer of about 4,000 digits"),
        ("{{ ('a' * 600000) ~ ('b' * 600000) }}", "a value of 1,200,000 characters"),
        ("{{ ('a' * 600000) + ('b' * 600000) }}", "a value of 1,200,000 characters"),
        (
            "{% set ns = namespace(s='x') %}{% for i in range(100) %}"
            "{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
            "a value of 2,097,152 characters",
        ),
        (
            "{% set x = [1] %}{% for i in range(64) %}{{ x.extend(x) }}{% endfor %}",
            "a value of 2,097,152 characters or items",
        ),
        # loops, across nesting, and what a template writes in all
        (
            "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
            "more than 100,000 loop iterations",
        ),
        (
            "{% set r = range(1000) %}{% for a in r %}{% for b in r %}{% endfor %}{% endfor %}",
            "more than 100,000 loop iterations",
        ),
        ("{% for c in 'a' * 1000000 %}{% endfor %}", "more than 100,000 loop iterations"),
        (
            "{% for x in [[range(100000), range(100000)]] recursive %}"
            "{% if x is iterable %}{{ loop(x) }}{% endif %}{% endfor %}",
            "more than 100,000 loop iterations",
        ),
        (
            "{% set s %}{% for i in range(100000) %}{{ 'y' * 1000 }}{% endfor %}{% endset %}",
            "it writes more than 1,048,576 characters",
        ),
        ("{% for i in range(2000) %}{{ 'y' * 1000 }}{% endfor %}", "more than 1,048,576"),
        (  # a {% filter %} block writes around finalize; constant text made anew each time
            "{% set s %}{% for i in range(100000) %}{% filter upper %}"
            + "a" * 1000
            + "{% endfilter %}{% endfor %}{% endset %}",
            "it writes more than 1,048,576 characters",
        ),
    ],
    ids=lambda value: value[:60],
)
def test_over_budget(template: str, message: str) -> None:
    with pytest.raises(RenderError) as info:
        render_text(template, {})
    assert str(info.value).startswith(OVER), info.value
    assert message in str(info.value), info.value


@pytest.mark.parametrize(
    ("template", "length"),
    [
        ("{{ 'a' * 1048576 }}", MIB),
        ("{{ 'a' | center(1048576) }}", MIB),
        ("{{ 2 ** 59 }}", 18),
        ("{{ -(10 ** 18) }}", 20),
        ("{% for a in range(1000) %}{% for b in range(99) %}{% endfor %}{% endfor %}x", 1),
        ("{% for i in range(99999) %}{% endfor %}x", 1),
        ("{{ range(100000) | join(',') | length }}", 6),
        ("{{ '%s' % ('a' * 1000000,) }}", 1_000_000),
    ],
)
def test_within_budget(template: str, length: int) -> None:
    assert len(render_text(template, {})) == length


# Jinja features the hooks touch, each rendered by callspec and by Jinja's own sandbox.
SAME = [
    "{{ service | upper }} {{ 'x' ~ n ~ 'y' }} {{ n * 3 }} {{ 2 ** 10 }} {{ 7 % 3 }} {{ n + 1 }}",
    "{{ 'a%sb%05d' % ('-', n) }} {{ '%-4s|' | format('ab') }} {{ '{}:{:>4}'.format('k', n) }}",
    "{{ names | join(', ') }} {{ names | map('upper') | join }} {{ users | join(',', 'n') }}",
    "{{ names | select('ne', 'b') | list }} {{ users | selectattr('n', 'eq', 'x') | list }}",
    "{{ names | sort | reverse | list }} {{ names | batch(2, '-') | list }}"
    " {{ names | slice(2) | list }}",
    "{{ 'ab' | center(6) }}|{{ 'a\nb' | indent(2, true) }}|{{ 'x y z' | wordwrap(1) }}",
    "{{ 'abc'.replace('b', 'BB') }} {{ ','.join(names) }} {{ 'a'.ljust(3) }}|"
    " {{ users | tojson(1) }}",
    "{% for x in names if x != 'b' %}{{ loop.index }}/{{ loop.length }}{{ x }}"
    "{% if loop.last %}.{% endif %}{% else %}none{% endfor %}",
    "{% for x in [] %}{{ x }}{% else %}empty{% endfor %}",
    "{% for k, v in {'a': 1, 'b': 2} | dictsort %}{{ k }}={{ v }};{% endfor %}",
    "{% for x in [[1, [2]], 3] recursive %}"
    "[{% if x is iterable %}{{ loop(x) }}{% else %}{{ x }}{% endif %}]{% endfor %}",
    "{% macro m(a) %}<{{ a }}{% if caller is defined %}{{ caller() }}{% endif %}>{% endmacro %}"
    "{{ m(1) }}{% call m(2) %}c{% endcall %}",
    "{% set b %}{% for i in range(3) %}{{ i }}{% endfor %}{% endset %}{{ b }}"
    "{% filter upper %}up{% endfilter %}",
    "{% set ns = namespace(t=0) %}{% for i in range(10) %}{% set ns.t = ns.t + i %}{% endfor %}"
    "{{ ns.t }}",
    "{{ range(5) | sum }} {{ [3, 1, 2] | max }} {{ 'abc' | length }} {{ 3.5 | round }}"
    " {{ '42' | int + 1 }}",
]


@pytest.mark.parametrize("template", SAME)
def test_within_budget_renders_as_jinja_does(template: str) -> None:
    context = {"service": "payments", "n": 7, "names": ["a", "b", "c"]}
    context["users"] = [{"n": "x"}, {"n": "y"}]
    plain = SandboxedEnvironment(keep_trailing_newline=True).from_string(template)
    assert render_text(template, context) == plain.render(context)


SLOW = "{% for i in range(99000) %}{{ range(100000) | sum }}{% endfor %}"  # minutes of work
CALL = """  - name: {name}
    from: "+14152224444"
    to: "{to}"
    answer_url: https://hooks.example.com/answer.xml
    caller_name: "{caller_name}"
"""


def spec(folder: Path, name: str, *caller_names: str) -> Path:
    calls = [
        CALL.format(name=f"c{i}", to=f"+1415555{i:04d}", caller_name=text)
        for i, text in enumerate(caller_names)
    ]
    path = folder / name
    path.write_text("version: 1\ncalls:\n" + "".join(calls))
    return path


def test_the_deadline_is_per_file_and_located(tmp_path: Path) -> None:
    """Past its deadline a file renders nothing more; the next file has a deadline of its own."""
    slow = spec(tmp_path, "a.yaml", SLOW, "{{ 'fast' }}", "no template")
    fast = spec(tmp_path, "b.yaml", "{{ 'fast' | upper }}")
    options = PlanOptions(limits=Limits(seconds=0.5))
    with pytest.raises(SpecError) as info:
        build_plan([slow, fast], options, {})
    over = "template over budget: rendering this file's templates took more than 0.5 s"
    assert [(p.location.line, p.path, p.message) for p in info.value.problems] == [
        (7, "calls[0].caller_name", over),
        (12, "calls[1].caller_name", over),
    ]
    assert {p.location.file for p in info.value.problems} == {str(slow)}
    plan = build_plan([fast], options, {})
    assert plan.calls[0].body["caller_name"] == "FAST"


def test_the_default_budget_is_the_documented_one() -> None:
    assert Limits() == Limits(max_size=MIB, max_int=10**18, max_steps=100_000, seconds=5.0)
    assert PlanOptions().limits == Limits()


# --- through the command line: a process with its memory capped ------------------------------


@pytest.mark.parametrize(
    "template",
    [
        "{{ [('a' * 10**6)] * 10**6 }}",
        "{{ ([('a' * 10**6)] * 10**6) | string | length }}",
        "{{ (([('a' * 10**6)] * 10**6) ~ '') | length }}",
        "{{ ([('a' * 10**6)] * 10**6) | tojson | length }}",
    ],
)
def test_printing_a_list_of_big_strings_is_over_budget(tmp_path: Path, template: str) -> None:
    calls_file(tmp_path, [call_lines("c", '"+14155550100"', caller_name=json.dumps(template))])
    # Refused before the value is made: within 10 s and 3 GiB (made, it is a terabyte).
    done = run_callspec(["validate", "a.yaml"], tmp_path, timeout=10, memory=3 << 30)
    assert done.returncode == ExitCode.INVALID, done.stderr[-500:]
    assert "template over budget" in done.stderr, done.stderr[-500:]


def test_a_list_of_megabyte_strings_is_over_budget_before_gigabytes(tmp_path: Path) -> None:
    template = "{{ range(100000) | map('string') | map('center', 10**6) | list | length }}"
    calls_file(tmp_path, [call_lines("c", '"+14155550100"', caller_name=json.dumps(template))])
    done = run_callspec(["validate", "a.yaml"], tmp_path, timeout=60, memory=1 << 30)
    assert done.returncode == ExitCode.INVALID, done.stderr[-500:]
    assert "template over budget: a value of" in done.stderr, done.stderr[-500:]


@pytest.mark.parametrize(
    ("template", "words"),
    [
        ("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "RecursionError"),
        ("{% for x in [[]] recursive %}{{ loop([[x]]) }}{% endfor %}", "RecursionError"),
        ("{{ '{:{}}'.format('a', 10**9) }}", "over budget"),
        ("{{ '%.*f' % (10**9, 1.5) }}", "over budget"),
        ("{{ ('<' * 1000000) | escape }}", "over budget"),
        ("{{ 9 ** 9 ** 9 }}", "over budget"),
        ("{{ 1e308 | int }}", "over budget"),
    ],
)
def test_template_attacks_are_located_problems(
    tmp_path: Path, run_cli: RunCli, template: str, words: str
) -> None:
    calls_file(tmp_path, [call_lines("c", '"+14155550100"', caller_name=json.dumps(template))])
    result = run_cli("validate", "a.yaml", cwd=tmp_path)
    assert result.exit_code == ExitCode.INVALID
    assert "a.yaml:7:18: calls[0].caller_name: template" in result.stderr
    assert words in result.stderr
