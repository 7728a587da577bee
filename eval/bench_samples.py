"""Cost of k sampled judgments relative to one, on the same items, in one run.

Run:
    python eval/bench_samples.py                         # embedded model, 4 LLMBar pairs, k = 1, 4, 8
    python eval/bench_samples.py --items 8 --ks 1,2,4,8 --max-new-tokens 64
    python eval/bench_samples.py --model PATH --device cuda --dtype bfloat16

Every k judges the same pairs (both orders, constrained, temperature 0.7) through
``judgekit.judge.judge_samples`` with the call cache off. The k continuations of a
prompt share its prefill (one forward pass, KV cache copied k times), so k samples should cost far
less than k times one; the target is k=8 <= 3x k=1 on CPU. Nothing here is a test:
the numbers depend on the machine and are meant to be read, not asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from judgekit.backends import get_backend
from judgekit.core.data import load_samples
from judgekit.core.runner import Runner
from judgekit.judge import judge_samples
from judgekit.protocols.base import JudgeConfig, get_protocol

ROOT = Path(__file__).resolve().parents[1]


def shortest(path: Path, n: int):  # type: ignore[no-untyped-def]
    """The n shortest pairs of a file (fast on CPU, deterministic)."""
    rows = load_samples(path, "pairwise")
    return sorted(rows, key=lambda s: (len(s.prompt) + sum(map(len, s.responses)), s.id))[:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "llmbar" / "llmbar.jsonl")
    parser.add_argument("--items", type=int, default=4)
    parser.add_argument("--ks", default="1,4,8")
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--repeats", type=int, default=1, help="Time each k this many times; keep the fastest.")
    parser.add_argument("--model", default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--json", type=Path, default=None, help="Also write the table as JSON here.")
    args = parser.parse_args()

    ks = sorted({int(k) for k in args.ks.split(",")})
    samples = shortest(args.data, args.items)
    backend = get_backend("transformers", model=args.model, device=args.device, dtype=args.dtype,
                          batch_size=args.batch_size)

    def config(k: int, seed: int) -> JudgeConfig:
        return JudgeConfig(samples=k, temperature=args.temperature, max_new_tokens=args.max_new_tokens, seed=seed)

    # Warm-up: weights, kernels and the regex index, on other seeds than the timed runs.
    judge_samples(samples[:1], get_protocol("pairwise", config(2, seed=10_000)), Runner(backend))
    rows = []
    for k in ks:
        best = None
        for rep in range(args.repeats):
            runner = Runner(backend=backend, cache=None)
            start = time.perf_counter()
            judgments = judge_samples(samples, get_protocol("pairwise", config(k, seed=rep)), runner,
                                      chunk_size=len(samples))
            secs = time.perf_counter() - start
            if best is None or secs < best[0]:
                best = (secs, runner.stats.generated_tokens, runner.stats.generate_calls,
                        sum(j.parse_failure for j in judgments))
        assert best is not None
        rows.append({"k": k, "seconds": best[0], "generated_tokens": best[1], "generate_calls": best[2],
                     "parse_failures": best[3]})
    base = rows[0]["seconds"]
    for row in rows:
        row["cost_vs_k1"] = row["seconds"] / base
        row["cost_per_sample_vs_k1"] = row["seconds"] / base / row["k"]
    print(f"# {len(samples)} LLMBar pairs x 2 orders, max_new_tokens={args.max_new_tokens}, "
          f"temperature={args.temperature}, batch_size={args.batch_size}, device={args.device}, "
          f"dtype={args.dtype}, {os.cpu_count()} CPU cores, {platform.machine()}")
    print("| k | seconds | generated tokens | backend calls | cost vs k=1 | cost per sample vs k=1 |")
    print("|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row['k']} | {row['seconds']:.2f} | {row['generated_tokens']} | {row['generate_calls']} | "
              f"{row['cost_vs_k1']:.2f}x | {row['cost_per_sample_vs_k1']:.2f}x |")
    if args.json:
        args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "rows": rows},
                                        indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
