"""CPU choices of the transformers backend, measured: torch threads, and prefix sharing across orders.

Run:
    python eval/bench_cpu.py                        # embedded model, 8 LLMBar pairs, logit mode
    python eval/bench_cpu.py --items 16 --repeats 5 --threads 1,2,4

Every row judges the same LLMBar pairs (both orders) in logit mode through
``judgekit.judge.judge_samples`` (the code path of ``judgekit judge``), call cache
off. Configurations are interleaved (1, 2, 1, 2, ...) over ``--repeats`` rounds so a
load change on a shared machine hits them alike; the table gives the median and
the spread. The load average before and after is printed: on a busy machine the
thread numbers say what a busy machine gets, not what a quiet one would.

Table 1, threads: ``torch.set_num_threads`` 1 vs 2 (``JUDGEKIT_THREADS``).
Table 2, prefix sharing (``share_prefix``): the two orders of an item share the
system prompt and question; with sharing that prefix is prefilled once. The token
counts (prompt tokens vs tokens run through the model) are exact; the speed-up is
measured. Nothing here is a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # judgekit from this checkout, installed or not

import torch  # noqa: E402
from bench_throughput import timed_run  # type: ignore[import-not-found]  # noqa: E402  # eval/ is run as scripts

from judgekit.backends import get_backend  # noqa: E402
from judgekit.core.cpus import available_cpus, cgroup_cpu_limit  # noqa: E402
from judgekit.core.data import load_samples  # noqa: E402
from judgekit.protocols.base import JudgeConfig  # noqa: E402


def load() -> str:
    """The 1/5/15-minute load averages, as text."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def measure(configs: dict[str, Any], repeats: int) -> dict[str, list[float]]:
    """Seconds per configuration, configurations interleaved round by round."""
    out: dict[str, list[float]] = {name: [] for name in configs}
    for _ in range(repeats):
        for name, run in configs.items():
            out[name].append(run())
    return out


def table(title: str, seconds: dict[str, list[float]], n_judgments: int) -> list[str]:
    """Markdown rows: median seconds, judgments/s (median, min-max)."""
    lines = [f"**{title}**", "", "| configuration | median s | judgments/s (median) | judgments/s (min-max) |",
             "|---|---:|---:|---:|"]
    for name, secs in seconds.items():
        med = statistics.median(secs)
        lo, hi = n_judgments / max(secs), n_judgments / min(secs)
        lines.append(f"| {name} | {med:.2f} | {n_judgments / med:.2f} | {lo:.2f}-{hi:.2f} |")
    return lines


def prefix_token_counts(samples: list[Any]) -> tuple[int, int]:
    """Logit-mode prompt tokens of ``samples`` (both orders): in the prompts, and run with prefix sharing."""
    from types import SimpleNamespace

    from transformers import AutoTokenizer

    from judgekit.backends.prefix import prefill_savings, prefix_groups
    from judgekit.backends.transformers import TransformersBackend
    from judgekit.core.models import resolve_model
    from judgekit.core.runner import Runner
    from judgekit.protocols.base import get_protocol

    prompts: list[Any] = []

    class Recorder:
        name, model_id, supports_constraints = "recorder", "recorder", False

        def score_choices(self, batch: list[Any], choices: list[str]) -> list[dict[str, float]]:
            prompts.extend(batch)
            return [{c: 1.0 / len(choices) for c in choices} for _ in batch]

    get_protocol("pairwise", JudgeConfig(method="logit")).judge(samples, Runner(backend=Recorder()))  # type: ignore[arg-type]
    tokenizer = AutoTokenizer.from_pretrained(str(resolve_model(None).path))
    holder = SimpleNamespace(tokenizer=tokenizer)
    encoded = [tokenizer(TransformersBackend.render(holder, p), add_special_tokens=False)["input_ids"]  # type: ignore[arg-type]
               for p in prompts]
    return prefill_savings(encoded, prefix_groups(encoded))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "llmbar" / "llmbar.jsonl")
    parser.add_argument("--items", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", default="1,2", help="Comma-separated torch thread counts.")
    parser.add_argument("--json", type=Path, default=None, help="Also write the measurements as JSON here.")
    parser.add_argument("--tokens-only", action="store_true",
                        help="Only count prompt tokens with and without prefix sharing (no model, no timing).")
    args = parser.parse_args()

    samples = load_samples(args.data, "pairwise", limit=args.items)
    if args.tokens_only:
        total, run = prefix_token_counts(samples)
        print(f"# {len(samples)} LLMBar pairs x 2 orders, logit-mode prompts of the embedded model's chat template")
        print(f"prompt tokens: {total}; run through the model with prefix sharing: {run} "
              f"({1 - run / max(total, 1):.1%} fewer)")
        return
    backend = get_backend("transformers", batch_size=args.batch_size)
    logit = JudgeConfig(method="logit")
    n = len(samples)
    load_before = load()
    timed_run(backend, samples[:2], logit, args.batch_size)  # warm-up

    def with_threads(t: int) -> Any:
        def run() -> float:
            torch.set_num_threads(t)
            backend.share_prefix = True
            return float(timed_run(backend, samples, logit, args.batch_size)[0])
        return run

    def with_sharing(on: bool) -> Any:
        def run() -> float:
            torch.set_num_threads(1)
            backend.share_prefix = on
            return float(timed_run(backend, samples, logit, args.batch_size)[0])
        return run

    thread_counts = [int(t) for t in args.threads.split(",")]
    threads = measure({f"{t} thread{'s' if t > 1 else ''}": with_threads(t) for t in thread_counts}, args.repeats)
    backend.prefill_tokens = [0, 0]
    sharing = measure({"prefix shared across orders": with_sharing(True),
                       "no sharing": with_sharing(False)}, args.repeats)
    total, run = (x // args.repeats for x in backend.prefill_tokens)
    load_after = load()

    print(f"# {n} LLMBar pairs x 2 orders, logit mode, embedded model (float32), batch {args.batch_size}, "
          f"{args.repeats} interleaved rounds; {platform.processor() or platform.machine()}, "
          f"os.cpu_count()={os.cpu_count()}, available_cpus()={available_cpus()}, "
          f"cgroup quota={cgroup_cpu_limit()}")
    print(f"# load average (1/5/15 min) before: {load_before}; after: {load_after} "
          f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})")
    print()
    print("\n".join(table("torch threads (prefix sharing on)", threads, n)))
    print()
    print("\n".join(table("prefix sharing (1 thread)", sharing, n)))
    print()
    print(f"prompt tokens per run: {total}; run through the model with sharing: {run} "
          f"({1 - run / max(total, 1):.1%} fewer)")
    if args.json:
        args.json.write_text(json.dumps({"threads": threads, "sharing": sharing, "tokens": [total, run],
                                         "load": [load_before, load_after], "items": n}, indent=2))


if __name__ == "__main__":
    main()
