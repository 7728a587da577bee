"""Render an HTML report in headless chromium and check the picture is a real page (shared by tests)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


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
