"""ESFP stage 1: a short explanation of each response, written by any backend through the runner.

Used by the ``esfp`` protocol at judging time and by :mod:`judgekit.esfp.train` and
the reward function when they explain training pairs (cached like every generation).
"""

from __future__ import annotations

from collections.abc import Sequence

from judgekit.core.prompts import render
from judgekit.core.runner import Runner
from judgekit.core.types import GenerationParams, Prompt

EXPLAIN_TEMPLATE = "esfp_explain"
Explained = dict[tuple[str, str], tuple[Prompt, str]]


def explain_prompt(question: str, response: str) -> Prompt:
    """The stage-1 prompt for one response."""
    return render(EXPLAIN_TEMPLATE, question=question, response=response)


def explain_params(max_new_tokens: int, temperature: float = 0.0, seed: int = 0) -> GenerationParams:
    """Decoding parameters of stage 1 (free text, one sample)."""
    return GenerationParams(max_new_tokens=max_new_tokens, temperature=temperature, n=1, seed=seed)


def explain_responses(
    items: Sequence[tuple[str, str]], runner: Runner, max_new_tokens: int = 64,
    temperature: float = 0.0, seed: int = 0,
) -> list[str]:
    """Stage 1 for ``(prompt, response)`` items: one stripped explanation each (cached, deduped)."""
    prompts = [explain_prompt(q, r) for q, r in items]
    gens = runner.generate(prompts, explain_params(max_new_tokens, temperature, seed))
    return [g[0].text.strip() for g in gens]
