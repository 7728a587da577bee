"""Prefix sharing and the static cache on the embedded model: the same numbers as without them."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

from judgekit.backends.transformers import TransformersBackend  # noqa: E402
from judgekit.core.types import GenerationParams, Message, Prompt  # noqa: E402

pytestmark = pytest.mark.integration

SYSTEM = "You are a careful judge. Compare two answers to the question and say which one is better."
ITEMS = [
    ("What is the capital of France?", "Paris is the capital of France.", "The capital is Lyon."),
    ("Give a synonym of 'happy'.", "Glad.", "Sad, because words can be opposites too."),
    ("How many legs does a spider have?", "Eight legs.", "Six."),
]


def _pair_prompts() -> list[Prompt]:
    prompts = []
    for q, a, b in ITEMS:
        for first, second in ((a, b), (b, a)):
            user = f"Question: {q}\n\nOutput (a): {first}\n\nOutput (b): {second}\n\nWhich output is better?"
            prompts.append(Prompt((Message("system", SYSTEM), Message("user", user)), template="t", template_hash="h",
                                  assistant_prefix="Verdict: [["))
    prompts.append(Prompt((Message("user", "Say A or B."),), template="t", template_hash="h"))  # no partner
    return prompts


@pytest.fixture(scope="module")
def backend() -> TransformersBackend:
    return TransformersBackend(batch_size=3)


def test_shared_prefix_gives_the_same_probabilities(backend: TransformersBackend) -> None:
    prompts = _pair_prompts()
    backend.share_prefix = False
    plain = backend.score_choices(prompts, ["A", "B"])
    backend.share_prefix = True
    shared = backend.score_choices(prompts, ["A", "B"])
    assert len(shared) == len(plain) == 7
    for p, s in zip(plain, shared, strict=True):
        assert s == pytest.approx(p, abs=1e-4)
    total, run = backend.prefill_tokens
    assert 0 < run < total  # the orders' system prompt and question ran once


def test_static_cache_generates_the_same_greedy_text(backend: TransformersBackend) -> None:
    prompts = _pair_prompts()[:3]
    params = GenerationParams(max_new_tokens=6)
    backend.static_cache = False
    dynamic = backend.generate(prompts, params)
    backend.static_cache = True
    try:
        static = backend.generate(prompts, params)
    finally:
        backend.static_cache = False
    assert [g[0].text for g in static] == [g[0].text for g in dynamic]


def test_shared_prefix_generates_the_same_greedy_text(backend: TransformersBackend) -> None:
    prompts = _pair_prompts()
    params = GenerationParams(max_new_tokens=6)
    backend.share_prefix = False
    plain = backend.generate(prompts, params)
    backend.share_prefix = True
    shared = backend.generate(prompts, params)
    assert [g[0].text for g in shared] == [g[0].text for g in plain]
    assert [g[0].num_tokens for g in shared] == [g[0].num_tokens for g in plain]
