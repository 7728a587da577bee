"""Calls and tokens per item of each protocol on the embedded model (for docs/protocol_choice.md).

An item is one GSM8K question with 4 candidate solutions (shared gsm8k_verification,
held-out questions of training/split.json, solutions cut to 400 characters). Each
protocol is asked what a user of it would ask:

* pairwise: best-of-4 by its pairwise reduction (the first candidate against each other
  one, both orders), as RewardBench 2's pairwise path does: 6 calls;
* pmi (the pairwise default, through its pointwise twin): every candidate scored on its own,
  2 forward passes each (with and without the question), no generation;
* pointwise / verify / prm: every candidate on its own (verify with the reference answer);
* listwise: the 4 candidates in one prompt, in the 4 orders of a Latin square (or 1).

Calls, prompt tokens (the judge's tokenizer, chat template included) and generated
tokens are counted by a proxy in front of the backend, with no call cache. Wall time is
printed too but depends on the machine's load; the tables use calls and tokens.

    PYTHONPATH=. python eval/protocol_costs.py --items 3 --out docs/protocol_costs.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # judgekit from this checkout, installed or not

from judgekit.backends import get_backend  # noqa: E402
from judgekit.core.data import load_samples  # noqa: E402
from judgekit.core.runner import Runner  # noqa: E402
from judgekit.core.types import ContinuationScore, Generation, GenerationParams, Prompt, Sample  # noqa: E402
from judgekit.protocols.base import JudgeConfig, get_protocol  # noqa: E402
from judgekit.train.recipe.split import read_split  # noqa: E402

SHARED = Path(__import__("os").environ.get("JUDGEKIT_SHARED_DATA", ROOT.parent / "shared" / "data"))


@dataclass
class Counting:
    """A backend proxy that counts calls, prompt tokens and generated tokens."""

    inner: Any
    calls: int = 0
    prompt_tokens: int = 0
    generated_tokens: int = 0
    seen: list[int] = field(default_factory=list)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def _count(self, prompts: Sequence[Prompt]) -> None:
        self.calls += len(prompts)
        self.prompt_tokens += sum(self.inner.count_tokens(list(prompts)))

    def generate(self, prompts: Sequence[Prompt], params: GenerationParams) -> list[list[Generation]]:
        """Count, then generate."""
        self._count(prompts)
        out: list[list[Generation]] = self.inner.generate(prompts, params)
        self.generated_tokens += sum(g.num_tokens for gens in out for g in gens)
        return out

    def score_choices(self, prompts: Sequence[Prompt], choices: Sequence[str]) -> list[dict[str, float]]:
        """Count, then score."""
        self._count(prompts)
        out: list[dict[str, float]] = self.inner.score_choices(prompts, choices)
        return out

    def score_continuations(self, contexts: Sequence[Prompt], continuations: Sequence[str],
                            values: bool = False) -> list[ContinuationScore]:
        """Count (one forward pass per pair: its context and continuation tokens), then score."""
        self._count(contexts)
        out: list[ContinuationScore] = self.inner.score_continuations(contexts, continuations, values)
        self.prompt_tokens += sum(len(score.logprobs) for score in out)
        return out


def items(n: int) -> list[tuple[str, str, list[str]]]:
    """``(question, reference answer, 4 candidate solutions)`` of ``n`` held-out questions."""
    held = read_split(ROOT / "training" / "split.json")["gsm8k"]
    rows = [s for s in load_samples(SHARED / "gsm8k_verification" / "gsm8k_verification.jsonl", "verify")
            if s.id in held]
    by_q: dict[str, list[Sample]] = {}
    for s in rows:
        by_q.setdefault(s.prompt, []).append(s)
    out = [(q, str(g[0].reference), [s.responses[0][:400] for s in g[:4]]) for q, g in by_q.items() if len(g) >= 4]
    return out[:n]


def units(protocol: str, data: list[tuple[str, str, list[str]]]) -> list[Sample]:
    out = []
    for k, (q, ref, cands) in enumerate(data):
        if protocol == "pairwise":
            out += [Sample(f"{k}-{j}", q, (cands[0], cands[j])) for j in range(1, 4)]
        elif protocol == "listwise" or protocol == "pointwise":
            out.append(Sample(f"{k}", q, tuple(cands)))
        elif protocol == "pmi-pointwise":  # each candidate's own score; the best of 4 is the highest
            out += [Sample(f"{k}-{j}", q, (c,)) for j, c in enumerate(cands)]
        else:
            out += [Sample(f"{k}-{j}", q, (c,), reference=ref) for j, c in enumerate(cands)]
    return out


CONFIGS: list[tuple[str, str, str, dict[str, Any]]] = [
    ("pmi (the default: 4 candidates scored, order-free)", "pmi-pointwise", "generative", {}),
    ("pairwise (both orders, 3 comparisons)", "pairwise", "generative", {}),
    ("pairwise, logit", "pairwise", "logit", {}),
    ("pointwise (4 ratings)", "pointwise", "generative", {}),
    ("listwise (Latin square, 4 orders)", "listwise", "generative", {}),
    ("listwise, 1 order (no position control)", "listwise", "generative", {"permutations": "identity"}),
    ("listwise, logit (best-of-4)", "listwise", "logit", {}),
    ("verify (4 candidates, reference; the hybrid default: rules first)", "verify", "generative", {}),
    ("verify, model alone (verify_mode=model)", "verify", "generative", {"verify_mode": "model"}),
    ("verify, model alone, logit", "verify", "logit", {"verify_mode": "model"}),
    ("prm first-error (4 solutions)", "prm", "generative", {}),
    ("prm per-step, logit (4 solutions)", "prm", "logit", {"prm_mode": "per-step"}),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=3)
    parser.add_argument("--max-new-tokens", type=int, default=96)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    data = items(args.items)
    backend = get_backend("transformers", batch_size=8)
    rows = []
    for label, name, method, options in CONFIGS:
        proxy = Counting(backend)
        config = JudgeConfig(method=method, max_new_tokens=args.max_new_tokens,  # type: ignore[arg-type]
                             options=tuple(options.items()))
        proto = get_protocol(name, config)
        samples = units(name, data)
        start = time.perf_counter()
        judgments = proto.judge(samples, Runner(proxy))  # type: ignore[arg-type]
        wall = time.perf_counter() - start
        n = len(data)
        row = {"protocol": label, "calls_per_item": proxy.calls / n, "prompt_tokens_per_item": proxy.prompt_tokens / n,
               "generated_tokens_per_item": proxy.generated_tokens / n,
               "parse_failures": sum(j.parse_failure for j in judgments), "units": len(samples),
               "wall_s_per_item": round(wall / n, 2)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    result = {"items": len(data), "max_new_tokens": args.max_new_tokens, "model": backend.model_id, "rows": rows}
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print("| protocol | calls / item | prompt tokens / item | generated tokens / item | parse failures |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['protocol']} | {r['calls_per_item']:g} | {r['prompt_tokens_per_item']:.0f} | "
              f"{r['generated_tokens_per_item']:.0f} | {r['parse_failures']} |")


if __name__ == "__main__":
    main()
