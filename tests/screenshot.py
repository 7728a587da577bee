"""Check an HTML report: its structure with html.parser, its picture in headless chromium (shared by tests).

``.ci/run`` installs chromium; when ``CI`` is set a missing chromium fails the
render tests instead of skipping them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


def need_chromium() -> None:
    """Skip without chromium on a developer machine; fail in CI, which installs it."""
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("no headless chromium although CI is set (.ci/run installs it with apt-get)")
        pytest.skip("no headless chromium (apt-get install chromium)")


class _Structure(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.counts: dict[str, int] = {}
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.counts[tag] = self.counts.get(tag, 0) + 1
        for name, value in attrs:
            if name.startswith("on") or (value or "").strip().lower().startswith("javascript:"):
                self.errors.append(f"<{tag} {name}=...> runs script")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.counts[tag] = self.counts.get(tag, 0) + 1

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else 'nothing'}>")
            if tag in self.stack:
                while self.stack.pop() != tag:
                    pass
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.text.append(data.strip())


def assert_well_formed(html_path: Path) -> dict[str, int]:
    """Parse the page: balanced tags, head/title/body/style, no script; returns tag counts."""
    parser = _Structure()
    parser.feed(html_path.read_text(encoding="utf-8"))
    parser.close()
    assert not parser.errors, parser.errors[:5]
    assert not parser.stack, f"unclosed tags: {parser.stack}"
    for tag in ("html", "head", "title", "body", "style"):
        assert parser.counts.get(tag, 0) >= 1, f"no <{tag}>"
    assert "script" not in parser.counts, "the report must not run scripts"
    assert len(" ".join(parser.text)) > 200, "almost no text on the page"
    return parser.counts


def assert_renders(html_path: Path, png: Path, timeout: float = 180) -> None:
    """Screenshot ``html_path`` to ``png`` (1100x1400) and assert it is neither blank nor black."""
    import matplotlib.image as mpimg

    assert CHROMIUM is not None, "no headless chromium"
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--screenshot={png}",
         "--window-size=1100,1400", html_path.as_uri()],
        capture_output=True, timeout=timeout,
    )
    assert png.exists(), proc.stderr.decode(errors="replace")[-2000:]
    img = mpimg.imread(png)
    assert img.shape[0] >= 1000 and img.shape[1] >= 1000
    assert float(img[..., :3].std()) > 0.05  # not a blank page
    dark = (img[..., :3].mean(axis=2) < 0.5).mean()
    assert 0.005 < dark < 0.5  # text and bars drawn, not a black screen
