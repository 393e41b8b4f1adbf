"""The validation memos are bounded: full, they start over, and answers do not change.

A spec of 20,000 distinct numbers must not keep every value it checked (issue 9,
memory); with tiny bounds the plan and every problem found stay the same.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from callspec import fastpaths
from callspec.errors import SpecError
from callspec.spec import loader
from callspec.spec.plan import PlanOptions, build_plan


def _spec(folder: Path, n: int, bad: int | None = None) -> Path:
    lines = ["version: 1", "defaults: {from: '+14152224444', time_limit: 300}", "calls:"]
    for i in range(n):
        to = "not-a-number" if i == bad else f"+1415555{i:04d}"
        lines += [
            f"  - name: c{i}",
            f"    to: '{to}'",
            f"    answer_url: https://h.example.com/{i % 3}",
        ]
    path = folder / "calls.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _outcome(spec: Path) -> object:
    try:
        return [
            (c.name, dict(c.body), c.line, c.key)
            for c in build_plan([spec], PlanOptions(), {}).calls
        ]
    except SpecError as e:
        return [(str(p.location), p.path, p.message) for p in e.problems]


@pytest.mark.parametrize("bad", [None, 27])
def test_tiny_memos_start_over_and_give_the_same_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bad: int | None
) -> None:
    spec = _spec(tmp_path, 40, bad)
    expected = _outcome(spec)
    monkeypatch.setattr(fastpaths, "VALUE_MEMO_MAX", 3)
    monkeypatch.setattr(loader, "TAG_MEMO_MAX", 3)
    fastpaths._VALID.clear()
    loader._Loader._memo.clear()
    assert _outcome(spec) == expected
    assert len(fastpaths._VALID) <= 3
    assert len(loader._Loader._memo) <= 3
    if bad is not None:
        where = f"{spec}:{5 + 3 * bad}:9"  # the value's line and column, from packed positions
        assert expected == [(where, "calls[27].to", expected[0][2])]  # type: ignore[index]


@pytest.mark.parametrize("broken", [None, "    answer_ulr: x", "    time_limit: [1]"])
def test_a_large_file_checked_by_the_compiled_schema_gives_the_plain_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, broken: str | None
) -> None:
    from callspec.spec import documents

    spec = _spec(tmp_path, documents.COMPILE_AFTER + 50)
    if broken is not None:
        lines = spec.read_text().splitlines()
        lines.insert(3 + 3 * 120 + 1, broken)  # into call 120
        spec.write_text("\n".join(lines) + "\n")
    fast = _outcome(spec)
    monkeypatch.setattr(documents, "COMPILE_AFTER", 10**9)  # the validator alone
    assert _outcome(spec) == fast
    if broken is not None:
        assert isinstance(fast, list) and fast and all("calls[120]" in str(p) for p in fast)
