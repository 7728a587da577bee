"""Likelihood judges end to end on the embedded SmolLM2-135M: exact log-probs, a cached rerun, verdicts."""

from __future__ import annotations

import pytest
import torch

from judgekit.core.cache import CallCache
from judgekit.core.prompts import render
from judgekit.core.runner import Runner
from judgekit.core.types import Sample
from judgekit.protocols import JudgeConfig, get_protocol

ITEMS = [
    Sample(id="paris", prompt="What is the capital of France?",
           responses=("The capital of France is Paris.", "Bananas are a yellow fruit rich in potassium."), label="A"),
    Sample(id="sum", prompt="Add 2 and 3.", responses=("I like to read books on rainy days.", "2 + 3 = 5."), label="B"),
]


def test_batched_scores_match_one_unbatched_forward_pass(embedded_backend) -> None:  # type: ignore[no-untyped-def]
    ctx = render("likelihood", question=ITEMS[0].prompt)
    texts = list(ITEMS[0].responses)
    scores = embedded_backend.score_continuations([ctx, ctx], texts, values=True)
    for text, got in zip(texts, scores, strict=True):
        head = embedded_backend.tokenizer(embedded_backend.render(ctx), add_special_tokens=False)["input_ids"]
        tail = embedded_backend.tokenizer(text, add_special_tokens=False)["input_ids"]
        with torch.inference_mode():
            logits = embedded_backend.model(input_ids=torch.tensor([head + tail])).logits[0].float()
        lp = torch.log_softmax(logits, -1)
        want = [float(lp[len(head) - 1 + t, tail[t]]) for t in range(len(tail))]
        assert got.logprobs == pytest.approx(want, abs=2e-3)
        assert got.values == pytest.approx((float(torch.logsumexp(logits[len(head) - 1], -1)),
                                            float(torch.logsumexp(logits[-1], -1))), abs=2e-3)


def test_likelihood_protocols_judge_and_rerun_from_cache(embedded_backend, tmp_path) -> None:  # type: ignore[no-untyped-def]
    runner = Runner(embedded_backend, cache=CallCache(tmp_path / "calls.sqlite"))
    for name in ("pmi", "likelihood", "endogenous", "flip"):
        js = get_protocol(name, JudgeConfig()).judge(ITEMS, runner)
        assert all(j.verdict in ("A", "B", "tie") and j.scores and len(j.scores) == 2 for j in js), name
    misses = runner.stats.cache_misses
    again = get_protocol("pmi", JudgeConfig()).judge(ITEMS, runner)
    assert runner.stats.cache_misses == misses  # every score from the cache
    assert [j.verdict for j in again] == ["A", "B"]  # PMI picks the on-topic response on these two


def test_dpo_against_its_own_reference_is_an_exact_tie(embedded_backend) -> None:  # type: ignore[no-untyped-def]
    """Policy = reference (both the embedded model, the reference loaded by name): every log-ratio is 0."""
    proto = get_protocol("dpo", JudgeConfig(options=(("reference", "smollm2"),)))
    js = proto.judge(ITEMS[:1], Runner(embedded_backend))
    assert js[0].scores == (0.0, 0.0)  # same weights, same batches: identical log-probs
    assert js[0].verdict == "tie" and "exact tie" in js[0].extra["tie_reason"]
