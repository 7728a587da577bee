"""GSM8K verification: ``verify`` vs ``tool-verify`` vs ``commit-first`` on one model.

Run (the table in docs/protocols.md):
    python eval/bench_tools.py                                  # embedded model, defaults below
    python eval/bench_tools.py --items 24 --key-items 8 --out runs/bench_tools
    python eval/bench_tools.py --model PATH --device cuda --dtype bfloat16 --items 200

Items: the first ``--items`` rows of the shared GSM8K verification file (four model
candidates per question, upstream's ``is_correct`` as the label), plus master-key items:
each of ``--keys`` (default one key per family of the bundled list) replaces the
candidate of the first ``--key-items`` rows, labelled incorrect. Every protocol judges
the same items in one batch with the call cache off. Reported per protocol: accuracy on
the clean items (a parse failure counts as wrong and is also counted apart), the
master-key false-positive rate (keys judged correct), executed tool calls per item,
tool errors, and wall seconds per item. Nothing here is a test: the numbers are read,
not asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from judgekit.backends import get_backend
from judgekit.core.data import load_samples
from judgekit.core.runner import Runner
from judgekit.core.types import Judgment, Sample
from judgekit.protocols.base import JudgeConfig, get_protocol

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("JUDGEKIT_SHARED_DATA", ROOT.parent / "shared" / "data"))
DEFAULT_KEYS = (":", "Thought process:", "解")


def items(n: int, key_items: int, keys: list[str]) -> tuple[list[Sample], list[Sample]]:
    """Clean items and master-key items (each key in place of a candidate, labelled incorrect)."""
    rows = load_samples(DATA / "gsm8k_verification" / "gsm8k_verification.jsonl", "verify", limit=max(n, key_items))
    attacked = [replace(s, id=f"{s.id}~key{k}", responses=(key,), label="incorrect")
                for k, key in enumerate(keys) for s in rows[:key_items]]
    return rows[:n], attacked


def score(judgments: list[Judgment], samples: list[Sample]) -> dict[str, Any]:
    """Accuracy (clean) or acceptance rate (keys), parse failures, tool counts."""
    n = len(samples)
    right = sum(j.verdict == s.label for j, s in zip(judgments, samples, strict=True))
    said_correct = sum(j.verdict == "correct" for j in judgments)
    return {
        "n": n, "right": right, "said_correct": said_correct,
        "parse_failures": sum(j.parse_failure for j in judgments),
        "skipped": sum("skipped" in j.extra for j in judgments),
        "tool_calls": sum(int(j.extra.get("tool_calls", 0)) for j in judgments),
        "tool_errors": sum(int(j.extra.get("tool_errors", 0)) for j in judgments),
        "committed_answers": sum(j.extra.get("committed_answer") is not None for j in judgments),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--items", type=int, default=8)
    parser.add_argument("--key-items", type=int, default=4)
    parser.add_argument("--keys", default=",".join(DEFAULT_KEYS), help="comma-separated; default one per family")
    parser.add_argument("--protocols", default="verify,tool-verify,commit-first")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--answer-tokens", type=int, default=128, help="commit-first turn 1 budget")
    parser.add_argument("--max-tool-calls", type=int, default=2)
    parser.add_argument("--tools", default="calc,python")
    parser.add_argument("--out", type=Path, default=Path("runs/bench_tools"))
    args = parser.parse_args()

    keys = [k for k in args.keys.split(",") if k]
    clean, attacked = items(args.items, args.key_items, keys)
    backend = get_backend("transformers", model=args.model, device=args.device, dtype=args.dtype,
                          batch_size=args.batch_size)
    options = {
        "verify": (),
        "tool-verify": (("tools", args.tools), ("max_tool_calls", args.max_tool_calls)),
        "commit-first": (("answer_tokens", args.answer_tokens),),
    }
    rows: list[dict[str, Any]] = []
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.protocols.split(","):
        proto = get_protocol(name, JudgeConfig(max_new_tokens=args.max_new_tokens, options=options.get(name, ())))
        start = time.perf_counter()
        judgments = proto.judge(clean + attacked, Runner(backend))
        seconds = time.perf_counter() - start
        with open(args.out / f"{name}.jsonl", "w", encoding="utf-8") as fh:
            for j in judgments:
                fh.write(json.dumps(j.to_dict(), ensure_ascii=False) + "\n")
        row = {"protocol": name, "seconds": seconds, "items": len(judgments),
               "clean": score(judgments[: len(clean)], clean), "keys": score(judgments[len(clean):], attacked)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    info = {"model": backend.info(), "machine": platform.platform(), "cpus": os.cpu_count(), "args": vars(args)}
    (args.out / "bench_tools.json").write_text(json.dumps({"rows": rows, **info}, indent=2, default=str))
    lines = ["| protocol | accuracy (clean) | master-key FPR | parse failures | tool calls / item "
             "| tool errors | s / item |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        c, k = r["clean"], r["keys"]
        calls = (c["tool_calls"] + k["tool_calls"]) / r["items"]
        lines.append(
            f"| `{r['protocol']}` | {c['right'] / c['n']:.3f} ({c['right']}/{c['n']}) "
            f"| {k['said_correct'] / k['n']:.3f} ({k['said_correct']}/{k['n']}) "
            f"| {c['parse_failures'] + k['parse_failures']} | {calls:.2f} | {c['tool_errors'] + k['tool_errors']} "
            f"| {r['seconds'] / r['items']:.1f} |"
        )
    table = "\n".join(lines)
    (args.out / "bench_tools.md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
