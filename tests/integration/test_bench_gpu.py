"""eval/bench_gpu.py runs on a bare machine: torch + transformers, no datasets / outlines / gguf.

The GPU itself is not here: this runs the script's CPU path on a 2-layer model and
a tiny batch, with the optional packages blocked, as the device machine would lack them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
# Not on the device machine (see ../shared/GPU.md: torch, transformers, accelerate, peft, typer,
# jinja2 are; httpx comes with huggingface_hub). Importing any of them fails here.
BLOCKED = ("datasets", "outlines", "outlines_core", "pyarrow", "gguf", "llama_cpp", "trl", "vllm")
BLOCKER = f"""
import importlib.abc, importlib.machinery, sys
class Blocked(importlib.abc.Loader):
    def create_module(self, spec):
        raise ImportError('not on the device machine: ' + spec.name)
    def exec_module(self, module):
        raise ImportError('not on the device machine: ' + module.__name__)
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split('.')[0] in {BLOCKED!r}:
            return importlib.machinery.ModuleSpec(name, Blocked())
        return None
sys.meta_path.insert(0, Block())
"""


def test_random_model_matches_the_embedded_architecture() -> None:
    sys.path.insert(0, str(ROOT / "eval"))
    try:
        from bench_gpu import EMBEDDED_CONFIG  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(ROOT / "eval"))
    from judgekit.core.models import resolve_model

    real = json.loads((resolve_model(None).path / "config.json").read_text())
    real.setdefault("rope_theta", (real.get("rope_parameters") or {}).get("rope_theta"))
    got = {k: real[k] for k in EMBEDDED_CONFIG}
    numbers = {k for k, v in EMBEDDED_CONFIG.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    # numbers approximately (a float written by another converter may differ in its last digit), the rest exactly
    assert {k: got[k] for k in numbers} == pytest.approx({k: EMBEDDED_CONFIG[k] for k in numbers}, rel=1e-6)
    assert {k: v for k, v in got.items() if k not in numbers} == {
        k: v for k, v in EMBEDDED_CONFIG.items() if k not in numbers}


def test_runner_path_and_bench_run_without_optional_packages(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    args = ["--device", "cpu", "--dtype", "float32", "--layers", "2", "--batches", "1,2",
            "--max-new-tokens", "3", "--prompt-words", "30", "--json", str(out)]
    code = BLOCKER + (
        "import runpy\n"
        f"sys.argv = ['bench_gpu.py', *{args!r}]\n"
        f"runpy.run_path({str(ROOT / 'eval' / 'bench_gpu.py')!r}, run_name='__main__')\n"
        f"assert not any(m.split('.')[0] in {BLOCKED!r} for m in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = json.loads(out.read_text())["rows"]
    assert [(r["mode"], r["batch"]) for r in rows] == [
        ("generative", 1), ("generative", 1), ("logit", 1), ("generative", 2), ("generative", 2), ("logit", 2)]
    assert all("error" not in r and r["judgments_per_s"] > 0 and r["judgments"] == 8 for r in rows), rows
    assert "| generative | static cache (no compile on CPU) | 2 | 8 |" in done.stdout
