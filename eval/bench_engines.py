"""Engines compared on the same pairs: transformers (sequential, batched) vs a local llama.cpp server.

Run (needs ``llama-cpp-python[server]``, see scripts/build_llamacpp.sh):
    python eval/bench_engines.py                                  # 6 shortest LLMBar pairs, both orders
    python eval/bench_engines.py --items 12 --concurrency 4 --server-threads 1
    python eval/bench_engines.py --no-server                      # transformers rows only
    python eval/bench_engines.py --llama-server .ci/llama-server/bin/llama-server --no-transformers
    # the engine table of docs/engines.md: every engine on the same pairs, in one run
    python eval/bench_engines.py --items 6 --both-servers --llama-server .ci/llama-server/bin/llama-server \
        --vllm-python .ci/vllm-venv/bin/python

Every row judges the same pairs (both orders) through ``judgekit.judge.judge_samples``,
the code path of ``judgekit judge``, with the call cache off:

- transformers backend (embedded SmolLM2-135M, float32): batch 1 vs ``--batch-size``,
  generative (constrained, ``--max-new-tokens``) and logit;
- HTTP backend (``--backend openai``) against ``python -m llama_cpp.server`` serving the
  embedded GGUF (Q4_1) on 127.0.0.1: concurrency 1 vs ``--concurrency``, chat mode
  for generation, decoded freely (``constraint_style="none"``: parse failures are
  counted) and with the verdict regex sent as a GBNF grammar (the default), and
  completions mode + top logprobs for logit;
- with ``--llama-server BIN``, the same HTTP rows against llama.cpp's C++ ``llama-server``
  (``scripts/build_llama_server.sh``) with ``--slots`` parallel slots (continuous batching,
  prompt cache), instead of llama-cpp-python's server (``--both-servers``: both).

- with ``--vllm-python PY`` (the environment of scripts/install_vllm.sh), vLLM offline
  (``--backend vllm``: structured outputs, logprobs; run by this script under ``PY``, one
  engine, float32, eager) and ``vllm serve`` (same settings) through the HTTP backend.

"prompt tokens / judgment" counts the prompt tokens each engine computed (prefilled) per
judgment: all of them for transformers; for vLLM and the servers, the prompt tokens minus
those the engine reported as served from its prefix/prompt cache.

The GPU rows of the engines issue (plain batched ``generate`` vs a static-cache /
compiled fast path up to batch 1024) need ``--device cuda`` and a GPU; this script
does not fake them. Nothing here is a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from bench_samples import shortest  # type: ignore[import-not-found]  # eval/ is run as scripts
from bench_throughput import timed_run  # type: ignore[import-not-found]

from judgekit.backends import get_backend
from judgekit.backends.http_util import load_chat_template
from judgekit.backends.llamacpp_server import free_port, missing_server_modules, serve_gguf
from judgekit.core.models import default_model_path, resolve_model
from judgekit.protocols.base import JudgeConfig

ROOT = Path(__file__).resolve().parents[1]


Row = tuple[float, float, float | None]  # seconds, parse-failure rate, prompt tokens prefilled per judgment
VLLM_ENV = {"VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_CPU_OMP_THREADS_BIND": "nobind", "VLLM_NO_USAGE_STATS": "1",
            "HF_HUB_OFFLINE": "1"}


class CountingBackend:
    """A backend that cannot say what it prefilled: count every prompt's tokens (``count_tokens``)."""

    def __init__(self, inner: Any) -> None:
        self.inner: Any = inner
        self.tokens = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def generate(self, prompts: Any, params: Any) -> Any:
        """Generate, counting the prompts' tokens."""
        self.tokens += sum(self.inner.count_tokens(prompts))
        return self.inner.generate(prompts, params)

    def score_choices(self, prompts: Any, choices: Any) -> Any:
        """Score choices, counting the prompts' tokens."""
        self.tokens += sum(self.inner.count_tokens(prompts))
        return self.inner.score_choices(prompts, choices)


def prefilled(backend: Any) -> int | None:
    """Prompt tokens the engine computed so far: counted, or reported total minus cache hits."""
    if isinstance(backend, CountingBackend):
        return backend.tokens
    info = backend.info()
    if not info.get("prompt_tokens_total"):  # absent, or a server that reports no usage
        return None
    return int(info["prompt_tokens_total"]) - int(info.get("prompt_tokens_cached") or 0)


def timed(backend: Any, samples: list[Any], config: JudgeConfig) -> Row:
    """Seconds to judge ``samples`` (no call cache), the parse-failure rate, prompt tokens per judgment."""
    before = prefilled(backend)
    seconds, judgments = timed_run(backend, samples, config)
    after = prefilled(backend)
    tokens = (after - before) / max(len(judgments), 1) if before is not None and after is not None else None
    return seconds, sum(j.parse_failure for j in judgments) / max(len(judgments), 1), tokens


def vllm_offline_rows(samples: list[Any], gen: JudgeConfig, logit: JudgeConfig) -> dict[str, Row]:
    """The rows of vLLM offline (run under the vLLM environment's Python)."""
    backend = get_backend("vllm", model="smollm2", dtype="float32", max_model_len=4096,
                          engine_extra={"enforce_eager": True})
    timed(backend, samples[:1], gen)  # warm-up: the verdict grammar
    return {"vLLM offline, generative (structured outputs)": timed(backend, samples, gen),
            "vLLM offline, logit": timed(backend, samples, logit)}


@contextmanager
def vllm_serve(python: Path, model_dir: Path, threads: int) -> Iterator[str]:
    """``vllm serve`` on 127.0.0.1 from the vLLM environment; its ``/v1`` URL."""
    port = free_port()
    env = {**os.environ, **VLLM_ENV, "OMP_NUM_THREADS": str(threads)}
    log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)  # noqa: SIM115 - closed below
    proc = subprocess.Popen([str(python), "-m", "vllm.entrypoints.openai.api_server", "--model", str(model_dir),
                             "--served-model-name", "smollm2", "--host", "127.0.0.1", "--port", str(port),
                             "--dtype", "float32", "--max-model-len", "4096", "--enforce-eager", "--seed", "0"],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"vllm serve exited ({proc.returncode}); log: {log.name}")
            try:
                if httpx.get(f"{url}/models", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=120)
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "llmbar" / "llmbar.jsonl")
    parser.add_argument("--items", type=int, default=6)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--batch-size", type=int, default=12)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--server-threads", type=int, default=1)
    parser.add_argument("--no-server", action="store_true", help="Skip the llama.cpp rows.")
    parser.add_argument("--no-transformers", action="store_true", help="Skip the transformers rows.")
    parser.add_argument("--llama-server", type=Path, default=None, help="A llama-server binary to measure.")
    parser.add_argument("--both-servers", action="store_true",
                        help="With --llama-server, measure llama-cpp-python's server too.")
    parser.add_argument("--slots", type=int, default=4, help="llama-server's parallel slots.")
    parser.add_argument("--vllm-python", type=Path, default=None,
                        help="The vLLM environment's python (scripts/install_vllm.sh): adds the vLLM rows.")
    parser.add_argument("--vllm-offline-only", action="store_true", help=argparse.SUPPRESS)  # the child run
    parser.add_argument("--json", type=Path, default=None, help="Also write the table as JSON here.")
    args = parser.parse_args()

    samples = shortest(args.data, args.items)
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    gen = JudgeConfig(max_new_tokens=args.max_new_tokens, constrain=True)
    logit = JudgeConfig(method="logit")
    rows: dict[str, Row] = {}
    if args.vllm_offline_only:  # inside the vLLM environment, called by the run below
        assert args.json is not None
        args.json.write_text(json.dumps(vllm_offline_rows(samples, gen, logit)))
        return

    if not args.no_transformers:
        local = CountingBackend(get_backend("transformers", batch_size=args.batch_size))
        timed(local, samples[:1], gen)  # warm-up: kernels and the verdict regex index
        local.inner.batch_size = 1
        rows["transformers, batch 1, generative"] = timed(local, samples, gen)
        rows["transformers, batch 1, logit"] = timed(local, samples, logit)
        local.inner.batch_size = args.batch_size
        rows[f"transformers, batch {args.batch_size}, generative"] = timed(local, samples, gen)
        rows[f"transformers, batch {args.batch_size}, logit"] = timed(local, samples, logit)

    if args.vllm_python is not None:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "vllm.json"
            cmd = [str(args.vllm_python), __file__, "--vllm-offline-only", "--json", str(out), "--data",
                   str(args.data), "--items", str(args.items), "--max-new-tokens", str(args.max_new_tokens)]
            subprocess.run(cmd, check=True, env={**os.environ, **VLLM_ENV, "OMP_NUM_THREADS": "1"})
            rows.update({k: tuple(v) for k, v in json.loads(out.read_text()).items()})  # type: ignore[misc]
        with vllm_serve(args.vllm_python, resolve_model("smollm2").path, args.server_threads) as url:
            for conc in (1, args.concurrency):
                chat = get_backend("openai", base_url=url, model="smollm2", api_key_env="", concurrency=conc)
                comp = get_backend("openai", base_url=url, model="smollm2", api_key_env="", concurrency=conc,
                                   mode="completions", chat_template=str(resolve_model("smollm2").path))
                timed(chat, samples[:1], gen)  # warm-up: the verdict grammar
                rows[f"vLLM server, concurrency {conc}, generative (structured outputs)"] = timed(chat, samples, gen)
                rows[f"vLLM server, concurrency {conc}, logit"] = timed(comp, samples, logit)

    servers: list[tuple[str, dict[str, Any]]] = []
    if not args.no_server and (args.llama_server is None or args.both_servers):
        missing = missing_server_modules()
        if missing:
            raise SystemExit(f"llama-cpp-python[server] is missing ({', '.join(missing)}); "
                             "run scripts/build_llamacpp.sh or pass --no-server")
        servers.append(("llama.cpp server", {}))
    if not args.no_server and args.llama_server is not None:
        options = {"server_bin": args.llama_server, "parallel": args.slots}
        servers.append((f"llama-server ({args.slots} slots)", options))
    gguf = default_model_path()
    template = load_chat_template(str(gguf))
    for label, options in servers:
        with serve_gguf(gguf, threads=args.server_threads, **options) as url:
            # llama.cpp keeps the last prompt's KV cache, so the order of runs matters:
            # every configuration runs twice, interleaved, and keeps its faster time.
            for _ in range(2):
                for conc in (1, args.concurrency):
                    chat = get_backend("openai", base_url=url, model="smollm2", api_key_env="", concurrency=conc)
                    free = get_backend("openai", base_url=url, model="smollm2", api_key_env="", concurrency=conc,
                                       constraint_style="none")
                    comp = get_backend("openai", base_url=url, model="smollm2", api_key_env="", concurrency=conc,
                                       mode="completions", chat_template=template)
                    for name, backend, config in ((f"concurrency {conc}, generative (free)", free, gen),
                                                  (f"concurrency {conc}, generative (grammar)", chat, gen),
                                                  (f"concurrency {conc}, logit", comp, logit)):
                        key = f"{label}, {name}"
                        took = timed(backend, samples, config)
                        rows[key] = min(rows.get(key, took), took, key=lambda r: r[0])

    n = len(samples)
    print(f"# {n} shortest LLMBar pairs x 2 orders, max_new_tokens={args.max_new_tokens}, "
          f"{os.cpu_count()} CPU cores, {platform.machine()}; transformers float32 torch threads as judgekit "
          f"picks them; llama.cpp Q4_1 with {args.server_threads} thread(s); load average before/after "
          f"{load_before} / {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("| engine and configuration | seconds | judgments/s | parse failures | prompt tokens / judgment |")
    print("|---|---:|---:|---:|---:|")
    for name, (secs, fail, tokens) in rows.items():
        shown = f"{tokens:.0f}" if tokens is not None else "n/a"
        print(f"| {name} | {secs:.2f} | {n / secs:.2f} | {fail:.0%} | {shown} |")

    def ratio(a: str, b: str) -> float | None:
        return rows[b][0] / rows[a][0] if a in rows and b in rows else None

    bs, conc = args.batch_size, args.concurrency
    ratios: dict[str, float | None] = {
        f"transformers batched ({bs}) / batch 1, generative": ratio(f"transformers, batch {bs}, generative",
                                                                    "transformers, batch 1, generative"),
        f"transformers batched ({bs}) / batch 1, logit": ratio(f"transformers, batch {bs}, logit",
                                                               "transformers, batch 1, logit"),
    }
    for label, _ in servers:
        for kind in ("generative (free)", "generative (grammar)", "logit"):
            ratios[f"{label}: concurrency {conc} / 1, {kind}"] = ratio(
                f"{label}, concurrency {conc}, {kind}", f"{label}, concurrency 1, {kind}")
        for kind, local_kind in (("generative (grammar)", "generative"), ("logit", "logit")):
            ratios[f"{label} (concurrency {conc}) / transformers batched, {kind}"] = ratio(
                f"{label}, concurrency {conc}, {kind}", f"transformers, batch {bs}, {local_kind}")
    print()
    print("| speed-up | value |")
    print("|---|---:|")
    for name, value in ratios.items():
        if value is not None:
            print(f"| {name} | {value:.2f}× |")
    if args.json:
        args.json.write_text(json.dumps({"seconds": {k: v[0] for k, v in rows.items()},
                                         "prompt_tokens_per_judgment": {k: v[2] for k, v in rows.items()},
                                         "ratios": ratios, "items": n}, indent=2))


if __name__ == "__main__":
    main()
