"""Throughput of the judging path on one set of items, printed as a table of ratios.

Run:
    python eval/bench_throughput.py                      # embedded model, 12 LLMBar pairs
    python eval/bench_throughput.py --items 24 --max-new-tokens 64 --batch-size 16
    python eval/bench_throughput.py --model PATH --device cuda --dtype bfloat16

Every configuration judges the same pairs (both orders) through
``judgekit.judge.judge_samples`` — the code path of ``judgekit judge`` — with the call
cache off, except the last row, which re-runs with a warm cache. Nothing here is a
test: the numbers depend on the machine, and are meant to be read, not asserted.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

from judgekit.backends import get_backend
from judgekit.core.cache import CallCache
from judgekit.core.data import load_samples
from judgekit.core.runner import Runner
from judgekit.judge import judge_samples
from judgekit.protocols.base import JudgeConfig, get_protocol

ROOT = Path(__file__).resolve().parents[1]


def timed_run(backend, samples, config: JudgeConfig, batch_size: int | None = None,  # type: ignore[no-untyped-def]
              cache: CallCache | None = None):
    """Judge ``samples`` once through the ``judgekit judge`` path; returns (seconds, judgments).

    ``batch_size`` sets the (transformers) backend's batch and the runner's chunk to
    match; ``None`` leaves both as they are (HTTP backends have no batch size).
    """
    chunk: dict[str, int] = {}
    if batch_size is not None:
        backend.batch_size = batch_size
        chunk["chunk_size"] = max(batch_size, 1) * 4
    runner = Runner(backend=backend, cache=cache, **chunk)
    start = time.perf_counter()
    judgments = judge_samples(samples, get_protocol("pairwise", config), runner, chunk_size=len(samples))
    return time.perf_counter() - start, judgments


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "llmbar" / "llmbar.jsonl")
    parser.add_argument("--items", type=int, default=12)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--batch-size", type=int, default=12)
    parser.add_argument("--model", default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--json", type=Path, default=None, help="Also write the table as JSON here.")
    args = parser.parse_args()

    samples = load_samples(args.data, "pairwise", limit=args.items)
    backend = get_backend("transformers", model=args.model, device=args.device, dtype=args.dtype)
    gen = JudgeConfig(max_new_tokens=args.max_new_tokens, constrain=False)
    con = JudgeConfig(max_new_tokens=args.max_new_tokens, constrain=True)
    logit = JudgeConfig(method="logit")
    n = len(samples)

    timed_run(backend, samples[:2], con, args.batch_size)  # warm-up: weights, kernels, regex index
    rows: dict[str, float] = {}
    rows["sequential (batch 1), free"], _ = timed_run(backend, samples, gen, 1)
    rows[f"batched ({args.batch_size}), free"], _ = timed_run(backend, samples, gen, args.batch_size)
    rows[f"batched ({args.batch_size}), constrained"], _ = timed_run(backend, samples, con, args.batch_size)
    rows[f"logit ({args.batch_size})"], _ = timed_run(backend, samples, logit, args.batch_size)
    with tempfile.TemporaryDirectory() as tmp:
        cache = CallCache(Path(tmp) / "calls.sqlite")
        timed_run(backend, samples, con, args.batch_size, cache)
        rows["cached re-run (constrained)"], _ = timed_run(backend, samples, con, args.batch_size, cache)

    seq, bat, cons, lg, cached = rows.values()
    print(f"# {n} LLMBar pairs x 2 orders, max_new_tokens={args.max_new_tokens}, "
          f"device={args.device}, dtype={args.dtype}, {platform.processor() or platform.machine()}")
    print("| configuration | seconds | judgments/s |")
    print("|---|---:|---:|")
    for name, secs in rows.items():
        print(f"| {name} | {secs:.2f} | {n / secs:.2f} |")
    ratios = {
        "batched / sequential": seq / bat,
        "logit / generative (batched, constrained)": cons / lg,
        "constraint overhead (constrained / free - 1)": cons / bat - 1,
        "cached re-run speed-up": cons / cached,
    }
    print()
    print("| ratio | value | target |")
    print("|---|---:|---|")
    targets = ["≥ 5×", "≥ 20×", "≤ 10%", "≥ 100×"]
    for (name, value), target in zip(ratios.items(), targets, strict=True):
        shown = f"{value:+.1%}" if "overhead" in name else f"{value:.1f}×"
        print(f"| {name} | {shown} | {target} |")
    if args.json:
        args.json.write_text(json.dumps({"seconds": rows, "ratios": ratios, "items": n}, indent=2))


if __name__ == "__main__":
    main()
