"""The ``esfp`` protocol: stage-1 explanation through the runner, stage-2 slot prediction.

Stage 1 renders ``prompts/esfp_explain.j2`` for every distinct (prompt, response)
and asks the runner (any backend; cached like every generation) for a short
explanation. Stage 2 lays prompt, response(s) and explanation(s) out around one mask
token and reads the label-word probabilities of a TRAINED masked LM
(``--esfp-model PATH``, made by ``judgekit esfp train``). Pairs are scored in both
orders and symmetrised; a one-response sample is scored pointwise.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from judgekit.core.errors import ConfigError
from judgekit.core.runner import Runner
from judgekit.core.types import Judgment, Sample, Turn
from judgekit.esfp.explain import EXPLAIN_TEMPLATE, Explained, explain_params, explain_prompt
from judgekit.esfp.model import ESFPModel, pair_verdict
from judgekit.protocols.base import Protocol
from judgekit.protocols.single import skipped, too_long_reasons


def check_model_dir(path: Any) -> Path:
    """Validate ``--esfp-model`` without loading weights; :class:`ConfigError` if unusable."""
    if not path:
        raise ConfigError(
            "protocol esfp needs --esfp-model PATH: a slot model trained with `judgekit esfp train DATA`. "
            "The embedded MiniLM has no trained masked-LM head, so an untrained ESFP judge is not meaningful"
        )
    p = Path(str(path)).expanduser()
    meta = p / "esfp.json"
    if not meta.is_file():
        raise ConfigError(f"--esfp-model {p}: not a trained ESFP model directory (no esfp.json)")
    try:
        trained = bool(json.loads(meta.read_text()).get("trained"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"--esfp-model {p}: unreadable esfp.json ({exc})") from exc
    if not trained:
        raise ConfigError(f"--esfp-model {p}: the slot head is untrained; train it with `judgekit esfp train DATA`")
    return p


@dataclass
class ESFPProtocol(Protocol):
    """Explanation + masked-LM slot prediction (ESFP-RM, arXiv 2508.18212)."""

    name: ClassVar[str] = "esfp"
    option_names: ClassVar[tuple[str, ...]] = ("explain_tokens",)
    description: ClassVar[str] = "ESFP-RM: LLM explanation, then a trained masked LM fills a label slot"
    task: ClassVar[str] = "pairwise"
    templates: ClassVar[tuple[str, ...]] = (EXPLAIN_TEMPLATE,)
    methods: ClassVar[tuple[str, ...]] = ("generative",)
    _model: Any = field(default=None, init=False, repr=False)

    def check(self) -> None:
        """Method check plus a usable, trained ``--esfp-model``."""
        super().check()
        check_model_dir(self.config.option("esfp_model"))

    def model(self) -> Any:
        """The slot model, loaded once per protocol instance."""
        if self._model is None:
            self._model = ESFPModel.load(check_model_dir(self.config.option("esfp_model")))
        return self._model

    def _explain_tokens(self) -> int:
        return int(self.config.option("explain_tokens", self.config.max_new_tokens))

    def judge(self, samples: Sequence[Sample], runner: Runner) -> list[Judgment]:
        """Explain every distinct response, then score pairs (both orders) or single responses."""
        model = self.model()
        out: dict[int, Judgment] = {}
        usable = []
        for i, s in enumerate(samples):
            if len(s.responses) in (1, 2):
                usable.append(i)
            else:
                out[i] = skipped(s.id, f"esfp scores 1 or 2 responses, got {len(s.responses)}")
        expl: Explained = {}
        if model.meta.use_explanation:
            items = list(dict.fromkeys((samples[i].prompt, r) for i in usable for r in samples[i].responses))
            prompts = [explain_prompt(q, r) for q, r in items]
            tokens = self._explain_tokens()
            reasons = too_long_reasons([[p] for p in prompts], runner, tokens)
            bad = {it: r for it, r in zip(items, reasons, strict=True) if r}
            for i in list(usable):
                keys = [(samples[i].prompt, r) for r in samples[i].responses]
                why = next((bad[k] for k in keys if k in bad), None)
                if why:
                    out[i] = skipped(samples[i].id, f"explanation prompt too long: {why}")
                    usable.remove(i)
            todo = [k for k, it in enumerate(items) if it not in bad]
            params = explain_params(tokens, self.config.temperature, self.config.seed)
            gens = runner.generate([prompts[k] for k in todo], params)
            for k, g in zip(todo, gens, strict=True):
                expl[items[k]] = (prompts[k], g[0].text.strip())
        pairs = [i for i in usable if len(samples[i].responses) == 2]
        points = [i for i in usable if len(samples[i].responses) == 1]
        self._judge_pairs(samples, pairs, expl, model, out)
        self._judge_points(samples, points, expl, model, out)
        return [out[i] for i in range(len(samples))]

    def _explanations(self, s: Sample, expl: Explained) -> tuple[list[str] | None, list[Turn]]:
        if not expl:
            return None, []
        found = [expl[(s.prompt, r)] for r in s.responses]
        turns = [Turn(name=f"explain_{k}", prompt=p.as_text(), output=t) for k, (p, t) in enumerate(found)]
        return [t for _, t in found], turns

    def _judge_pairs(self, samples: Sequence[Sample], idx: list[int], expl: Explained,
                     model: Any, out: dict[int, Judgment]) -> None:
        ex = [self._explanations(samples[i], expl) for i in idx]
        items = [(samples[i].prompt, samples[i].responses[0], samples[i].responses[1]) for i in idx]
        scores = model.score_pairs(items, [e for e, _ in ex])
        for i, (_, turns), sc in zip(idx, ex, scores, strict=True):
            p_ab, p_ba = sc.per_order
            ba_unswapped = {"A": p_ba["B"], "B": p_ba["A"]}
            probs = sc.probs if self.config.both_orders else dict(p_ab)
            per_order = [{"order": "AB", "ok": True, "label": pair_verdict(p_ab), "probs": dict(p_ab)}]
            if self.config.both_orders:
                per_order.append(
                    {"order": "BA", "ok": True, "label": pair_verdict(ba_unswapped), "probs": ba_unswapped}
                )
            label = pair_verdict(probs)
            slot = Turn(name="slot", prompt=model.meta.pairwise_slot, output="",
                        parsed={"probs": dict(probs), "per_order": [dict(p_ab), ba_unswapped]})
            out[i] = Judgment(
                sample_id=samples[i].id, verdict=label, reward=probs["A"], per_order=tuple(per_order),
                probs=dict(probs), consistent=(pair_verdict(p_ab) == pair_verdict(ba_unswapped))
                if self.config.both_orders else None,
                trace=(*turns, slot), extra={"cuts": [c.to_dict() for c in sc.cuts], "form": "pairwise"},
            )

    def _judge_points(self, samples: Sequence[Sample], idx: list[int], expl: Explained,
                      model: Any, out: dict[int, Judgment]) -> None:
        ex = [self._explanations(samples[i], expl) for i in idx]
        items = [(samples[i].prompt, samples[i].responses[0]) for i in idx]
        scored = model.score_points(items, [e[0] if e is not None else None for e, _ in ex])
        for i, (_, turns), (probs, cuts) in zip(idx, ex, scored, strict=True):
            label = "good" if probs["good"] >= probs["bad"] else "bad"
            verdict = score_from_good(probs["good"]) if self.task == "pointwise" else label
            slot = Turn(name="slot", prompt=model.meta.pointwise_slot, output="", parsed={"probs": dict(probs)})
            out[i] = Judgment(
                sample_id=samples[i].id, verdict=verdict, reward=probs["good"], probs=dict(probs),
                trace=(*turns, slot),
                extra={"cuts": [c.to_dict() for c in cuts], "form": "pointwise", "good_bad": label},
            )


def score_from_good(p_good: float) -> str:
    """P(good) in [0, 1] as a 1-10 score (``round(1 + 9 p)``), comparable with pointwise score labels."""
    return str(int(round(1 + 9 * min(max(p_good, 0.0), 1.0))))


@dataclass
class ESFPPointwiseProtocol(ESFPProtocol):
    """ESFP-RM's pointwise form: one response per item, "is this response good?".

    Loads pointwise files (prompt + response, optional 1-10 score label). The reward
    is P(good) from the slot; the verdict is that probability as a 1-10 score, so a
    run on a score-labelled file reports the same exact-score accuracy as ``pointwise``.
    """

    name: ClassVar[str] = "esfp-pointwise"
    description: ClassVar[str] = "ESFP-RM pointwise: explanation, then the masked LM's P(good) as reward"
    task: ClassVar[str] = "pointwise"
