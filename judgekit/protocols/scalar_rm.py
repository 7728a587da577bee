"""Scalar reward models as judges: ``-p scalar-rm`` (pairwise) and ``-p scalar-rm-pointwise``.

A sequence-classification RM (``--model DIR``; the ``scalar-rm`` backend, chosen
automatically for these protocols) gives each (prompt, response) one number.
Pairwise, the verdict is the sign of the score difference: order-free (each
response is scored alone, so there is no position to swap), and an exact tie of the
two scores is recorded as ``tie`` with ``extra.tie = "exact"``. ``probs`` is the
Bradley-Terry probability ``sigmoid(r_A - r_B)`` and is the pairwise reward.
Pointwise, the verdict and the reward are the score itself.

Every reward goes through the runner's call cache under a key made of the RM's
identity (weights hash, dtype, chat template, length limit) and the exact texts.
A conversation longer than the RM's limit is skipped with its reason, never cut.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

from judgekit.core.cache import make_key
from judgekit.core.errors import ConfigError
from judgekit.core.runner import Runner
from judgekit.core.types import Judgment, Sample
from judgekit.protocols.base import Protocol
from judgekit.protocols.single import skipped

Item = tuple[str, str]


def rm_backend(runner: Runner) -> Any:
    """The runner's backend if it is a scalar RM, else a ConfigError saying how to get one."""
    backend = runner.backend
    if not callable(getattr(backend, "rewards", None)):
        raise ConfigError(
            "scalar-rm protocols need a sequence-classification reward model: "
            "--backend scalar-rm --model DIR (the default backend switches to it for these protocols)"
        )
    return backend


def cached_rewards(runner: Runner, items: Sequence[Item]) -> tuple[dict[Item, float], dict[Item, str]]:
    """Rewards of the distinct items (from the call cache where present) and why any were skipped."""
    backend = rm_backend(runner)
    unique = list(dict.fromkeys(items))
    ident = runner.identity()
    keys = {it: make_key({"kind": "scalar-rm", "backend": ident, "prompt": it[0], "response": it[1]})
            for it in unique}
    cache = runner.cache
    found = cache.get_many(keys.values()) if cache is not None else {}
    have = {it: float(found[k]["reward"]) for it, k in keys.items() if k in found}
    runner.stats.cache_hits += len(have)
    todo = [it for it in unique if it not in have]
    reasons = dict(zip(todo, backend.too_long(todo), strict=True)) if todo else {}
    bad = {it: r for it, r in reasons.items() if r}
    todo = [it for it in todo if it not in bad]
    runner.stats.cache_misses += len(todo)
    for start in range(0, len(todo), runner.chunk_size):
        chunk = todo[start:start + runner.chunk_size]
        values = backend.rewards(chunk)
        runner.stats.choice_prompts += len(chunk)
        fresh = dict(zip(chunk, values, strict=True))
        have.update(fresh)
        if cache is not None:
            cache.put_many({keys[it]: {"reward": v} for it, v in fresh.items()})
        if runner.on_prompts_done:
            runner.on_prompts_done(len(chunk))
    return have, bad


def pair_judgment(sample_id: str, r_a: float, r_b: float) -> Judgment:
    """A verdict from two scores: the higher wins, an exact tie is a tie; reward = sigmoid(r_A - r_B)."""
    diff = r_a - r_b
    label = "A" if diff > 0 else "B" if diff < 0 else "tie"
    p_a = 1.0 / (1.0 + math.exp(-diff)) if diff > -700 else 0.0
    extra: dict[str, Any] = {"form": "pairwise", "order_free": True}
    if label == "tie":
        extra["tie"] = "exact"
    return Judgment(sample_id=sample_id, verdict=label, reward=p_a, scores=(r_a, r_b),
                    probs={"A": p_a, "B": 1.0 - p_a}, consistent=True,
                    per_order=({"order": "order-free", "ok": True, "label": label, "scores": [r_a, r_b]},),
                    extra=extra)


class ScalarRMProtocol(Protocol):
    """Pairwise by the difference of two scalar rewards (order-free, exact ties recorded)."""

    name: ClassVar[str] = "scalar-rm"
    flag_options: ClassVar[tuple[str, ...]] = ()
    description: ClassVar[str] = "a sequence-classification reward model (--model DIR): A vs B by score difference"
    task: ClassVar[str] = "pairwise"
    methods: ClassVar[tuple[str, ...]] = ()  # no verdict prompt: --method does not apply
    scored: ClassVar[bool] = True

    def check(self) -> None:
        """Refuse settings a scalar RM cannot honour (k samples, a rubric or principles)."""
        super().check()
        if self.config.samples != 1:
            raise ConfigError(f"protocol {self.name!r} is deterministic: --samples must be 1")
        if self.config.rubric or self.config.principles:
            raise ConfigError(f"protocol {self.name!r} scores with the RM alone: --rubric/--principle do not apply")

    def decoding(self) -> dict[str, Any]:
        """What the manifest records: no decoding, one forward pass per response."""
        return {"method": "scalar-rm", "pairwise": "sign of r_A - r_B; reward sigmoid(r_A - r_B)"}

    def judge(self, samples: Sequence[Sample], runner: Runner) -> list[Judgment]:
        """Score every distinct response once (batched, cached), then compare."""
        for s in samples:
            if len(s.responses) != 2:
                raise ConfigError(f"sample {s.id}: {self.name} needs 2 responses, got {len(s.responses)}")
        have, bad = cached_rewards(runner, [(s.prompt, r) for s in samples for r in s.responses])
        out = []
        for s in samples:
            a, b = ((s.prompt, r) for r in s.responses)
            why = bad.get(a) or bad.get(b)
            out.append(skipped(s.id, why) if why else pair_judgment(s.id, have[a], have[b]))
        return out


class ScalarRMPointwiseProtocol(ScalarRMProtocol):
    """One response per item; the verdict and the reward are the RM's score."""

    name: ClassVar[str] = "scalar-rm-pointwise"
    description: ClassVar[str] = "a sequence-classification reward model (--model DIR): the score of each response"
    task: ClassVar[str] = "pointwise"

    def judge(self, samples: Sequence[Sample], runner: Runner) -> list[Judgment]:
        """Score each response (batched, cached); several responses: the best one wins, or tie."""
        have, bad = cached_rewards(runner, [(s.prompt, r) for s in samples for r in s.responses])
        out = []
        for s in samples:
            items = [(s.prompt, r) for r in s.responses]
            why = next((bad[it] for it in items if it in bad), None)
            if why:
                out.append(skipped(s.id, why))
                continue
            scores = tuple(have[it] for it in items)
            best = [i for i, v in enumerate(scores) if v == max(scores)]
            verdict = f"{scores[0]:.6g}" if len(scores) == 1 else "tie" if len(best) > 1 else chr(65 + best[0])
            out.append(Judgment(sample_id=s.id, verdict=verdict, reward=scores[0] if len(scores) == 1 else None,
                                scores=scores, extra={"form": "pointwise", "reward_is_score": True}))
        return out
