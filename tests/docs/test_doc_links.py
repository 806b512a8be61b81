"""Relative links in the README and docs/ point at files that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_relative_links_resolve(doc: Path) -> None:
    """Every [text](relative/path) in a guide names an existing file or folder."""
    broken = []
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", doc.read_text()):
        if "://" in target or target.startswith("mailto:"):
            continue
        if not (doc.parent / target).exists():
            broken.append(target)
    assert not broken, f"{doc.name}: broken links {broken}"


def _heading_anchors(doc: Path) -> set[str]:
    """GitHub's anchors for a Markdown file's headings (lower case, punctuation dropped)."""
    anchors = set()
    for heading in re.findall(r"^#+\s+(.+?)\s*$", doc.read_text(), flags=re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        anchors.add(slug)
    return anchors


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_section_links_name_existing_headings(doc: Path) -> None:
    """Every [text](file.md#section) and [text](#section) names a heading that exists."""
    broken = []
    for target, anchor in re.findall(r"\]\(([^)#\s]*)#([^)\s]+)\)", doc.read_text()):
        linked = doc if not target else doc.parent / target
        if "://" in target or linked.suffix != ".md" or not linked.exists():
            continue
        if anchor not in _heading_anchors(linked):
            broken.append(f"{target}#{anchor}")
    assert not broken, f"{doc.name}: links to missing sections {broken}"
