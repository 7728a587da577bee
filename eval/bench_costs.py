"""The two costs every judging ratio is made of: prefill tokens/s and one decode step per batch size.

Run:
    python eval/bench_costs.py                          # embedded model, CPU, judgekit's thread choice
    python eval/bench_costs.py --threads 2 --batches 1,8,32,64
    python eval/bench_costs.py --model PATH --device cuda --dtype bfloat16

Logit mode costs one prefill per prompt; generation costs that prefill plus one
decode step per new token, and batching only helps where a step is not already
compute-bound. So on a given machine, with P = prompt tokens / prefill rate and
D = new tokens x step time / batch size, logit / generative ~ (P + D) / P and
batched / sequential ~ (P + D_1) / (P + D_b). This script measures the inputs of
those formulas (random token ids; the model's weights are real); nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable

import torch
from transformers import DynamicCache

from judgekit.backends import get_backend


def best_of(fn: Callable[[], object], repeats: int) -> float:
    """Fastest of ``repeats`` timed calls, in seconds."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: judgekit's choice)")
    parser.add_argument("--prompt-lengths", default="100,250,500")
    parser.add_argument("--batches", default="1,4,8,16,32")
    parser.add_argument("--context", type=int, default=250, help="KV-cache length for the decode steps")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    backend = get_backend("transformers", model=args.model, device=args.device, dtype=args.dtype,
                          threads=args.threads)
    model = backend.model
    vocab = int(model.config.vocab_size)

    def ids(batch: int, length: int) -> torch.Tensor:
        return torch.randint(100, min(vocab, 30000), (batch, length), device=args.device)

    print(f"# {backend.model_id}, {args.device}, {args.dtype}, torch threads {torch.get_num_threads()}, "
          f"{os.cpu_count()} cores, {platform.machine()}")
    print("| prefill (batch 1) | seconds | tokens/s |")
    print("|---:|---:|---:|")
    with torch.inference_mode():
        for length in (int(x) for x in args.prompt_lengths.split(",")):
            x = ids(1, length)
            secs = best_of(lambda x=x: model(input_ids=x, logits_to_keep=1), args.repeats)
            print(f"| {length} tokens | {secs:.3f} | {length / secs:.0f} |")
        print()
        print(f"| decode step (context {args.context}) | seconds per step | new tokens/s | vs batch 1 |")
        print("|---:|---:|---:|---:|")
        base = None
        for batch in (int(b) for b in args.batches.split(",")):
            cache = DynamicCache(config=model.config)
            model(input_ids=ids(batch, args.context), past_key_values=cache, use_cache=True, logits_to_keep=1)
            step = ids(batch, 1)

            def one(step: torch.Tensor = step, cache: DynamicCache = cache) -> None:
                model(input_ids=step, past_key_values=cache, use_cache=True)
                cache.crop(-1)  # back to the same context length for the next repeat

            secs = best_of(one, args.repeats + 2)
            rate = batch / secs
            base = base or rate
            print(f"| batch {batch} | {secs:.4f} | {rate:.1f} | {rate / base:.1f}× |")


if __name__ == "__main__":
    main()
