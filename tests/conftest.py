"""Shared fixtures: an isolated cache dir and the shared data location."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The scripted test backend is hidden from users; the tests (and the CLI runs they start) may name it.
os.environ["JUDGEKIT_FAKE_BACKEND"] = "1"

SHARED_DATA = Path(os.environ.get("JUDGEKIT_SHARED_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(autouse=True)
def _isolated_call_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets its own call cache; the converted-model cache stays shared."""
    calls = tmp_path_factory.mktemp("calls")
    monkeypatch.setenv("JUDGEKIT_CALL_CACHE", str(calls))


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"shared data not found at {SHARED_DATA} (set JUDGEKIT_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture
def python_sandbox() -> None:
    """The ``<python>`` tool's OS sandbox (bubblewrap): skip without it on a developer machine,
    fail under ``CI`` (``scripts/install_sandbox.sh`` installs it)."""
    from judgekit.tools.sandbox import sandbox_problem

    problem = sandbox_problem()
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(f"{problem} (CI must run scripts/install_sandbox.sh)")
        pytest.skip(problem)
