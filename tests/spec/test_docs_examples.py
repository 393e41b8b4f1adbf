"""The profiles files shown in docs/secrets.md and docs/numbers.md are valid as written."""

from __future__ import annotations

import re

import pytest
from support import ROOT

from callspec.spec.profiles import ProfilesFile

BLOCKS = [
    (doc, block)
    for doc in ("secrets.md", "numbers.md")
    for block in re.findall(r"```yaml\n(.*?)```", (ROOT / "docs" / doc).read_text(), re.S)
    if block.startswith("version: 1")
]


def test_each_doc_shows_a_profiles_file() -> None:
    assert {doc for doc, _ in BLOCKS} == {"secrets.md", "numbers.md"}


@pytest.mark.parametrize(("doc", "block"), BLOCKS)
def test_a_profiles_file_in_the_docs_is_valid(tmp_path, doc: str, block: str) -> None:
    path = tmp_path / "profiles.yaml"
    path.write_text(block)
    profile = ProfilesFile.load(path, doc).resolve("default", None)
    # What the page is about: secrets the run needs, or the countries numbers may be in.
    about = {"secrets.md": profile.runtime, "numbers.md": profile.countries}[doc]
    assert about
