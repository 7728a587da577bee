"""The paper's comparison on one encoder and one split.

(a) ESFP-RM: stage-1 explanation + slot prediction; (b) slot prediction without the
explanation; (c) a plain sequence-classification head on the same encoder and input
layout (no slot, no explanation); (d) the generative judge (``pairwise`` protocol,
both orders) on the same held-out items. Every learned variant is trained on the same
fixed-seed training split and scored in both orders, symmetrised. Accuracy counts a
tie as half credit and a generative parse failure as zero; intervals are bootstrap
95% intervals (Wilson alongside).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from judgekit.core.runner import Runner
from judgekit.core.stats import accuracy_ci
from judgekit.core.types import Sample
from judgekit.esfp.encoder import load_classifier
from judgekit.esfp.model import collate, pair_verdict, softmax_over, symmetrise
from judgekit.esfp.slots import SlotInput, encode_pairwise
from judgekit.esfp.train import Explanations, TrainConfig, explain_samples, fit, preference_pairs, split, train_split
from judgekit.protocols.base import JudgeConfig, get_protocol

Event = Callable[[str], None]


@dataclass(frozen=True)
class CompareRow:
    """One method's held-out result."""

    method: str
    accuracy: float
    ci_low: float
    ci_high: float
    wilson_low: float
    wilson_high: float
    n: int
    judgments_per_s: float | None
    consistent_rate: float | None
    failures: int = 0
    note: str = ""


def _row(method: str, credit: Sequence[float], seconds: float | None, consistent: float | None,
         failures: int = 0, note: str = "") -> CompareRow:
    acc = accuracy_ci(list(credit))
    return CompareRow(
        method=method, accuracy=acc["value"], ci_low=acc["ci"][0], ci_high=acc["ci"][1],
        wilson_low=acc["wilson"][0], wilson_high=acc["wilson"][1], n=len(credit),
        judgments_per_s=(len(credit) / seconds) if seconds else None, consistent_rate=consistent,
        failures=failures, note=note,
    )


def _credit(label: str | None, gold: str | None) -> float:
    return 0.5 if label == "tie" else float(label is not None and label == gold)


def slot_row(method: str, model: Any, eval_set: Sequence[Sample], explanations: Explanations | None,
             note: str) -> CompareRow:
    """Score held-out pairs with a trained slot model; time the slot stage alone."""
    ex = [list(explanations[s.id]) if explanations is not None else None for s in eval_set]
    start = time.perf_counter()
    scores = model.score_pairs([(s.prompt, s.responses[0], s.responses[1]) for s in eval_set], ex)
    seconds = time.perf_counter() - start
    credit = [_credit(pair_verdict(sc.probs), s.label) for s, sc in zip(eval_set, scores, strict=True)]
    consistent = sum(
        pair_verdict(sc.per_order[0]) == pair_verdict({"A": sc.per_order[1]["B"], "B": sc.per_order[1]["A"]})
        for sc in scores
    ) / max(1, len(scores))
    return _row(method, credit, seconds, consistent, note=note)


def classifier_row(train_set: Sequence[Sample], eval_set: Sequence[Sample], cfg: TrainConfig,
                   encoder: Any) -> tuple[CompareRow, dict[str, Any]]:
    """Baseline (c): ``AutoModelForSequenceClassification`` over the same layout, no slot."""
    import torch


    model, tok = load_classifier(encoder, num_labels=2, seed=cfg.seed)
    pad = tok.pad_token_id or 0

    def inputs(s: Sample) -> tuple[SlotInput, SlotInput]:
        a, b = s.responses
        return (encode_pairwise(tok, s.prompt, a, b, None, cfg.layout, slot=None),
                encode_pairwise(tok, s.prompt, b, a, None, cfg.layout, slot=None))

    examples = []
    for s in train_set:
        ab, ba = inputs(s)
        a_wins = s.label == "A"
        examples += [("pairwise", ab, 0 if a_wins else 1), ("pairwise", ba, 1 if a_wins else 0)]

    def logits_fn(_form: str, batch: Sequence[SlotInput]) -> Any:
        ids, att, _ = collate(batch, pad)
        return model(input_ids=ids, attention_mask=att).logits

    stats = fit(model, examples, logits_fn, replace(cfg, pointwise=False))
    pairs = [inputs(s) for s in eval_set]
    start = time.perf_counter()
    probs = []
    with torch.inference_mode():
        flat = [x for p in pairs for x in p]
        for k in range(0, len(flat), cfg.batch_size):
            rows = logits_fn("pairwise", flat[k : k + cfg.batch_size])
            probs += [softmax_over(r.double().tolist(), ("A", "B")) for r in rows]
    seconds = time.perf_counter() - start
    credit, consistent = [], 0
    for i, s in enumerate(eval_set):
        p_ab, p_ba = probs[2 * i], probs[2 * i + 1]
        credit.append(_credit(pair_verdict(symmetrise(p_ab, p_ba)), s.label))
        consistent += pair_verdict(p_ab) == pair_verdict({"A": p_ba["B"], "B": p_ba["A"]})
    row = _row("(c) sequence-classification head", credit, seconds, consistent / max(1, len(eval_set)),
               note="same encoder and layout, no slot, no explanation")
    return row, stats


def generative_row(eval_set: Sequence[Sample], runner: Runner, judge_config: JudgeConfig) -> CompareRow:
    """Baseline (d): the generative ``pairwise`` judge of the runner's model, both orders."""
    proto = get_protocol("pairwise", judge_config)
    start = time.perf_counter()
    judgments = proto.judge(list(eval_set), runner)
    seconds = time.perf_counter() - start
    credit = [_credit(j.verdict, s.label) for s, j in zip(eval_set, judgments, strict=True)]
    failures = sum(1 for j in judgments if j.verdict is None)
    known = [j.consistent for j in judgments if j.consistent is not None]
    return _row("(d) generative judge (pairwise protocol)", credit, seconds,
                sum(known) / len(known) if known else None, failures,
                note=f"{runner.backend.model_id}, max_new_tokens={judge_config.max_new_tokens}")


def run_compare(
    samples: Sequence[Sample], runner: Runner, cfg: TrainConfig, judge_config: JudgeConfig,
    explain_tokens: int = 64, encoder: Any = None, explanations: Explanations | None = None,
    on_event: Event | None = None,
) -> dict[str, Any]:
    """Run (a)-(d) on one fixed-seed split; returns rows, timings, split and training stats."""
    say = on_event or (lambda _msg: None)
    pairs, dropped = preference_pairs(samples)
    train_set, eval_set = split(pairs, cfg.eval_fraction, cfg.seed)
    say(f"{len(pairs)} pairs (dropped {dropped}); train {len(train_set)}, held out {len(eval_set)}")
    stage1_seconds = None
    if explanations is None:
        say("stage 1: explaining every response (cached)")
        start = time.perf_counter()
        explanations = explain_samples([*train_set, *eval_set], runner, explain_tokens)
        stage1_seconds = time.perf_counter() - start
    rows, training = [], {}
    say("(a) training explanation + slot")
    model_a, m_a = train_split(train_set, eval_set, explanations, replace(cfg, use_explanation=True), encoder)
    rows.append(slot_row("(a) ESFP: explanation + slot", model_a, eval_set, explanations,
                         "slot stage alone, explanations cached"))
    training["a"] = m_a["train"]
    say("(b) training slot without explanation")
    model_b, m_b = train_split(train_set, eval_set, None, replace(cfg, use_explanation=False), encoder)
    rows.append(slot_row("(b) slot, no explanation", model_b, eval_set, None, "same template minus explanations"))
    training["b"] = m_b["train"]
    say("(c) training sequence-classification head")
    row_c, training["c"] = classifier_row(train_set, eval_set, cfg, encoder)
    rows.append(row_c)
    say("(d) generative judge on the held-out items")
    rows.append(generative_row(eval_set, runner, judge_config))
    return {
        "rows": [asdict(r) for r in rows],
        "split": {"pairs": len(pairs), "dropped": dropped, "train": len(train_set), "eval": len(eval_set),
                  "seed": cfg.seed, "eval_ids": sorted(s.id for s in eval_set)},
        "stage1": {"explain_tokens": explain_tokens, "seconds": stage1_seconds,
                   "responses": 2 * (len(train_set) + len(eval_set))},
        "training": training,
        "models": {"a": model_a, "b": model_b},
        "explanations": explanations,
    }


def markdown_table(rows: Sequence[dict[str, Any]]) -> str:
    """The comparison as a Markdown table."""
    lines = ["| method | accuracy | 95% CI (bootstrap) | Wilson | n | judgments/s | order-consistent | note |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        jps = f"{r['judgments_per_s']:.2f}" if r["judgments_per_s"] else "-"
        cons = f"{r['consistent_rate']:.2f}" if r["consistent_rate"] is not None else "-"
        note = r["note"] + (f"; {r['failures']} parse failures" if r.get("failures") else "")
        lines.append(f"| {r['method']} | {r['accuracy']:.3f} | [{r['ci_low']:.3f}, {r['ci_high']:.3f}] | "
                     f"[{r['wilson_low']:.3f}, {r['wilson_high']:.3f}] | {r['n']} | {jps} | {cons} | {note} |")
    return "\n".join(lines)
