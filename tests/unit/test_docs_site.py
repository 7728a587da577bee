"""The docs site's configuration matches the pages (checked without MkDocs installed).

``scripts/build_docs.sh`` runs ``mkdocs build --strict`` (links and anchors validated);
these checks run everywhere: every page is in the navigation and every navigation entry
exists, the changelog page includes CHANGELOG.md, and the tool pins agree.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def nav_files(entries: list[Any]) -> list[str]:
    found: list[str] = []
    for entry in entries:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        found += nav_files(value) if isinstance(value, list) else [value]
    return found


def test_every_page_is_in_the_navigation_and_every_entry_exists() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    listed = nav_files(config["nav"])
    pages = sorted(p.name for p in (ROOT / "docs").glob("*.md"))
    missing = sorted(set(pages) - set(listed))
    assert not missing, f"docs pages missing from mkdocs.yml nav: {missing}"
    assert sorted(set(listed) - set(pages)) == [], "nav entries without a page"
    assert len(listed) == len(set(listed))
    assert config["validation"]["anchors"] == "warn" and config.get("strict") is True


def test_changelog_page_includes_the_changelog() -> None:
    assert '--8<-- "CHANGELOG.md"' in (ROOT / "docs" / "changelog.md").read_text(encoding="utf-8")
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [Unreleased]" in changelog and "### Added" in changelog


def test_build_script_and_docs_extra_pin_the_same_tools() -> None:
    script = (ROOT / "scripts" / "build_docs.sh").read_text(encoding="utf-8")
    pins = set(re.findall(r'"([a-z-]+==[0-9.]+)"', script.split("PINS=(", 1)[1].split(")", 1)[0]))
    line = next(x for x in (ROOT / "pyproject.toml").read_text(encoding="utf-8").splitlines()
                if x.startswith("docs = ["))
    extra = set(re.findall(r'"([a-z-]+==[0-9.]+)"', line))
    assert pins == extra and len(pins) == 4
    assert "mkdocs build --strict" in script
