"""Issue 29 item 14b: under CI=true a missing llama-server binary fails its tests instead of skipping them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_llama_server_tests(tmp_path: Path, ci: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CI=ci, JUDGEKIT_LLAMA_SERVER=str(tmp_path / "no-such-llama-server"))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rfsE", "-p", "no:cacheprovider",
         "tests/integration/test_llamacpp_server.py", "-k", "portable or (llama-server and deterministic)"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_missing_llama_server_fails_under_ci_and_skips_outside(tmp_path: Path) -> None:
    ci = run_llama_server_tests(tmp_path, "true")
    assert ci.returncode != 0, ci.stdout[-2000:]
    assert "CI is set: build it first with scripts/build_llama_server.sh" in ci.stdout
    assert "skipped" not in ci.stdout.splitlines()[-1]
    local = run_llama_server_tests(tmp_path, "")
    assert local.returncode == 0 and "2 skipped" in local.stdout.splitlines()[-1], local.stdout[-2000:]
