"""Every link between the documentation's pages leads somewhere: the file exists, and a
``#fragment`` names one of its headings as GitHub spells their anchors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pasteable import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_LINK = re.compile(r"\]\(([^)\s]+)\)")
_FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def anchors(page: Path) -> set[str]:
    """GitHub's anchor for each heading: lower case, punctuation dropped, spaces '-'."""
    text = _FENCE.sub("", page.read_text(encoding="utf-8"))
    found = set()
    for heading in re.findall(r"^#+ (.+)$", text, re.M):
        words = re.sub(r"[^\w\- ]", "", heading.replace("`", "").lower())
        found.add(words.replace(" ", "-"))
    return found


def links(page: Path) -> list[str]:
    text = _FENCE.sub("", page.read_text(encoding="utf-8"))
    return [t for t in _LINK.findall(text) if not re.match(r"[a-z]+:", t)]


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_every_link_leads_to_a_page_and_a_heading(page: Path) -> None:
    for target in links(page):
        path, _, fragment = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        assert file.exists(), f"{page.name}: {target}"
        if fragment:
            assert fragment in anchors(file), f"{page.name}: {target}"


def test_every_docs_page_is_in_the_index() -> None:
    index = links(ROOT / "docs" / "README.md")
    pages = {p.name for p in (ROOT / "docs").glob("*.md")} - {"README.md"}
    listed = {target.partition("#")[0] for target in index}
    assert pages <= listed, pages - listed


def test_the_anchor_of_a_heading_with_code_is_githubs() -> None:
    assert "who-answered---wait" in anchors(ROOT / "docs" / "escalation.md")
