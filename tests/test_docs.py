"""The README and docs/ point at files that exist."""

from __future__ import annotations

import re

from conftest import REPO


def test_every_relative_link_of_the_readme_and_docs_resolves():
    pages = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    broken = [(page.name, link) for page in pages
              for link in re.findall(r"\]\(([^)#\s]+)\)", page.read_text(encoding="utf-8"))
              if not link.startswith(("http://", "https://", "mailto:"))
              and not (page.parent / link).exists()]
    assert not broken, broken
