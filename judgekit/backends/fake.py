"""A deterministic fake backend: scripted or hash-derived outputs, no model.

Unit tests use it to check parsing, swapping, caching and counting exactly. It
records every call, so a test can assert that ``n`` samples came from one prompt call.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from judgekit.core.lazy import BackendPlan
from judgekit.core.types import ContinuationScore, Generation, GenerationParams, Prompt

Responder = Callable[[Prompt, int, GenerationParams], str]
ChoiceResponder = Callable[[Prompt, Sequence[str]], Mapping[str, float]]
ContinuationResponder = Callable[[Prompt, str], Sequence[float | None]]


def _digest(*parts: object) -> int:
    return int(hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:8], 16)


def default_responder(prompt: Prompt, index: int, params: GenerationParams) -> str:
    """A well-formed answer for the prompt's template, chosen by hashing the prompt."""
    h = _digest(prompt.key(), index if params.temperature > 0 else 0, params.seed)
    if prompt.template.startswith("verify"):
        return f"Reasoning: compared the final answers.\nVerdict: {('correct', 'incorrect')[h % 2]}"
    if prompt.template == "listwise":
        n = sum(m.content.count("\n## Response ") for m in prompt.messages if m.role == "user")
        labels = [chr(ord("A") + (i + h) % n) for i in range(n)]
        return "Reasoning: compared every response.\nRanking: [[" + " > ".join(labels) + "]]"
    if prompt.template == "prm_first_error":
        return "Reasoning: checked each step.\nFirst error: [[" + ("-1", "0")[h % 2] + "]]"
    if prompt.template == "prm_step":
        return "Critique: checked the step.\nStep: " + ("correct", "incorrect")[h % 2]
    if prompt.template == "pointwise":
        return f"Reasoning: checked against the rubric.\nScore: {h % 10 + 1}"
    return f"Reasoning: compared both responses.\nVerdict: [[{('A', 'B', 'tie')[h % 3]}]]"


def uniform_choices(prompt: Prompt, choices: Sequence[str]) -> Mapping[str, float]:
    """Hash-derived, normalised choice probabilities."""
    weights = [1 + _digest(prompt.key(), c) % 97 for c in choices]
    total = sum(weights)
    return {c: w / total for c, w in zip(choices, weights, strict=True)}


def hashed_logprobs(context: Prompt, text: str) -> list[float | None]:
    """One log-prob per whitespace token of ``text``, derived from a hash of the context and the token."""
    return [-(1 + _digest(context.key(), k, tok) % 400) / 100 for k, tok in enumerate(text.split())]


@dataclass
class FakeBackend:
    """Deterministic backend. ``script`` maps a substring of the prompt to an output."""

    responder: Responder | None = None
    script: Mapping[str, str] | None = None
    choice_responder: ChoiceResponder | None = None
    continuation_responder: ContinuationResponder | None = None
    model_id: str = "fake-model"
    max_context: int | None = None
    supports_constraints: bool = True
    name: str = "fake"
    calls: list[dict[str, Any]] = field(default_factory=list)

    def _text(self, prompt: Prompt, index: int, params: GenerationParams) -> str:
        if self.script:
            body = prompt.as_text()
            for needle, output in self.script.items():
                if needle in body:
                    return output
        return (self.responder or default_responder)(prompt, index, params)

    def generate(self, prompts: Sequence[Prompt], params: GenerationParams) -> list[list[Generation]]:
        """``params.n`` outputs per prompt; one recorded call for the whole batch."""
        self.calls.append({"kind": "generate", "prompts": len(prompts), "n": params.n, "params": params})
        out = []
        for p in prompts:
            gens = []
            for i in range(params.first_index, params.first_index + params.n):
                text = self._text(p, i, params)
                for stop in params.stop:
                    text = text.split(stop)[0]
                n_tok = len(text.split())
                finish = "length" if n_tok >= params.max_new_tokens else "stop"
                gens.append(Generation(text=text, finish_reason=finish, num_tokens=n_tok))
            out.append(gens)
        return out

    def score_choices(self, prompts: Sequence[Prompt], choices: Sequence[str]) -> list[dict[str, float]]:
        """Normalised probabilities per choice, from ``choice_responder`` or a hash."""
        self.calls.append({"kind": "choices", "prompts": len(prompts), "choices": list(choices)})
        fn = self.choice_responder or uniform_choices
        out = []
        for p in prompts:
            raw = dict(fn(p, choices))
            total = sum(raw.get(c, 0.0) for c in choices) or 1.0
            out.append({c: raw.get(c, 0.0) / total for c in choices})
        return out

    def score_continuations(
        self, contexts: Sequence[Prompt], continuations: Sequence[str], values: bool = False
    ) -> list[ContinuationScore]:
        """Whitespace-token log-probs from ``continuation_responder`` or a hash; values from a hash."""
        self.calls.append({"kind": "continuations", "prompts": len(contexts), "values": values})
        fn = self.continuation_responder or hashed_logprobs
        out = []
        for ctx, text in zip(contexts, continuations, strict=True):
            lps = tuple(fn(ctx, text))
            vals = (_digest(ctx.key(), "v0") % 100 / 10, _digest(ctx.key(), text, "vT") % 100 / 10) if values else None
            out.append(ContinuationScore(logprobs=lps, n_chars=len(text), values=vals))
        return out

    def count_tokens(self, prompts: Sequence[Prompt]) -> list[int]:
        """Whitespace token count (enough to test context-length handling)."""
        return [len(p.as_text().split()) for p in prompts]

    def info(self) -> dict[str, Any]:
        """Manifest entry."""
        return {"backend": self.name, "model_id": self.model_id}


def plan(**kwargs: Any) -> BackendPlan:
    """The fake backend's plan (:func:`judgekit.core.backend.open_backend` builds it lazily); builds nothing."""
    model_id = str(kwargs.get("model_id", FakeBackend.model_id))
    return BackendPlan(name=FakeBackend.name, model_id=model_id, identity={},
                       supports_constraints=bool(kwargs.get("supports_constraints", FakeBackend.supports_constraints)),
                       max_context=kwargs.get("max_context", FakeBackend.max_context),
                       info={"backend": FakeBackend.name, "model_id": model_id})
