"""The trained judge exported (``judgekit export judgekit-135m --format hf|gguf``) and run elsewhere.

The GGUF (f16) is served by llama.cpp on 127.0.0.1 — the C++ ``llama-server`` when built
(``$JUDGEKIT_LLAMA_SERVER`` or ``.ci/llama-server``), else llama-cpp-python's server — and
judged with ``--backend openai``; in-process ``judgekit-135m`` (transformers, float32) on
the same 16 held-out LLMBar pairs is the reference. The HF directory on vLLM is checked in
tests/integration/test_vllm_cpu.py (same 16 items, one engine per module).

Logit mode: first-token probabilities within ``PROB_TOLERANCE`` (f16 weights and llama.cpp's
kernels against float32 PyTorch), same verdict wherever the reference's margin exceeds it
twice. Generative at T=0: greedy decoding from slightly different logits can take another
path once two tokens are nearly tied, so verdicts are compared and at most
``GENERATIVE_DIFFERENCES`` may differ (measured here: none of 16 did).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from judgekit.backends.llamacpp_server import missing_server_modules, serve_gguf
from tests.heldout import held_out_pairs

# the module fixture (two exports, two in-process runs) counts toward its first test's time
pytestmark = [pytest.mark.integration, pytest.mark.server, pytest.mark.timeout(1800)]

ROOT = Path(__file__).resolve().parents[2]
HELD_OUT = 16
PROB_TOLERANCE = 0.01  # measured: at most 0.0039 (f16 GGUF on llama-cpp-python vs float32 in-process)
GENERATIVE_DIFFERENCES = 2  # measured: 0 of 16 differ


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "JUDGEKIT_THREADS": os.environ.get("JUDGEKIT_THREADS", "1")}
    return subprocess.run([sys.executable, "-m", "judgekit", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=900, env=env)


def rows(run: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in (run / "results.jsonl").read_text().splitlines()]


def llama_server_binary() -> Path | None:
    given = os.environ.get("JUDGEKIT_LLAMA_SERVER")
    path = Path(given) if given else ROOT / ".ci" / "llama-server" / "bin" / "llama-server"
    return path if path.is_file() and os.access(path, os.X_OK) else None


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Held-out pairs, both exports, and the in-process reference runs."""
    work = tmp_path_factory.mktemp("export")
    held_out_pairs(work / "heldout.jsonl", HELD_OUT)
    for fmt, out in (("hf", work / "hf"), ("gguf", work / "judge.gguf")):
        done = cli("export", "judgekit-135m", "--format", fmt, "-o", str(out))
        assert done.returncode == 0, done.stderr[-2000:]
    for method in ("logit", "generative"):
        done = cli("judge", str(work / "heldout.jsonl"), "--model", "judgekit-135m", "--method", method,
                   "-o", str(work / f"inproc-{method}"), "--no-cache")
        assert done.returncode == 0, done.stderr[-2000:]
    return work


def test_hf_export_is_a_loadable_model_with_its_chat_template(work: Path) -> None:
    hf = work / "hf"
    assert (hf / "config.json").is_file() and list(hf.glob("*.safetensors"))
    config = json.loads((hf / "tokenizer_config.json").read_text())
    assert "chat_template" in config or (hf / "chat_template.jinja").is_file()
    assert json.loads((hf / "judgekit_export.json").read_text())["model_id"].startswith("judgekit-135m-")
    # the exported directory is the same model: the same in-process logit results (4 items suffice; a
    # 4-item batch pads differently from the 16-item reference run: float noise of ~1e-6, measured 1.6e-6)
    done = cli("judge", str(work / "heldout.jsonl"), "--model", str(hf), "--method", "logit", "--limit", "4",
               "-o", str(work / "hf-logit"), "--no-cache")
    assert done.returncode == 0, done.stderr[-2000:]
    for got, ref in zip(rows(work / "hf-logit"), rows(work / "inproc-logit")[:4], strict=True):
        assert got["verdict"] == ref["verdict"]
        assert all(abs(got["probs"][c] - ref["probs"][c]) < 1e-4 for c in ref["probs"]), (got, ref)


@pytest.fixture(scope="module")
def gguf_server(work: Path) -> Iterator[str]:
    binary = llama_server_binary()
    if binary is None and missing_server_modules():
        if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
            pytest.fail("neither llama-server nor llama-cpp-python[server] is installed, but CI is set")
        pytest.skip("no llama.cpp server (scripts/build_llama_server.sh or scripts/build_llamacpp.sh)")
    options: dict[str, Any] = {"server_bin": binary, "parallel": 4} if binary else {}
    with serve_gguf(work / "judge.gguf", alias="judgekit-135m", n_ctx=2048, **options) as url:
        yield url


def served(work: Path, url: str, name: str, *extra: str) -> list[dict[str, Any]]:
    done = cli("judge", str(work / "heldout.jsonl"), "--backend", "openai", "--base-url", url, "--model",
               "judgekit-135m", "--api-key-env", "", "--concurrency", "4", "-o", str(work / name), "--no-cache",
               *extra)
    assert done.returncode == 0, done.stderr[-2000:]
    return rows(work / name)


def test_gguf_on_llama_cpp_logit_matches_in_process(work: Path, gguf_server: str) -> None:
    got = served(work, gguf_server, "gguf-logit", "--method", "logit", "--api-mode", "completions",
                 "--chat-template", str(work / "hf"))
    ref = rows(work / "inproc-logit")
    for g, r in zip(got, ref, strict=True):
        for choice in r["probs"]:
            assert abs(g["probs"][choice] - r["probs"][choice]) < PROB_TOLERANCE, (g["sample_id"], g["probs"],
                                                                                    r["probs"])
        ordered = sorted(r["probs"].values(), reverse=True)
        if ordered[0] - ordered[1] > 2 * PROB_TOLERANCE:
            assert g["verdict"] == r["verdict"], (g, r)


def test_gguf_on_llama_cpp_generative_verdicts_match_in_process(work: Path, gguf_server: str) -> None:
    got = served(work, gguf_server, "gguf-gen")
    ref = rows(work / "inproc-generative")
    assert all(not g["parse_failure"] for g in got)
    differ = [(g["sample_id"], g["verdict"], r["verdict"]) for g, r in zip(got, ref, strict=True)
              if g["verdict"] != r["verdict"]]
    assert len(differ) <= GENERATIVE_DIFFERENCES, differ
