"""Likelihood judges: a score per response from the model's log-probs, no verdict prompt.

Each response is scored on its own (so a pairwise verdict is order-free: no position
bias, no second order to run) by one of

* ``likelihood`` -- forward likelihood log P(response | instruction);
* ``pmi`` -- log P(response | instruction) - log P(response) (the instruction's
  pointwise mutual information with the response; the unconditional term is the same
  chat framing with an empty user turn);
* ``flip`` -- FLIP's likelihood form, log P(instruction | response) (arXiv 2602.13551):
  the real instruction scored as the reply to "which instruction does this answer?";
* ``flip-gen`` -- FLIP's generative form: the model writes the instruction it infers
  from the response, scored by token F1 against the real one;
* ``endogenous`` -- the endogenous reward of arXiv 2506.23235 (logits read as a soft
  Q-function, reward from the inverse soft Bellman operator; :func:`judgekit.core.likelihood.endogenous_score`);
* ``dpo`` -- the implicit reward of a DPO-style policy, beta * (log pi(y | x) - log pi_ref(y | x)),
  as reward-bench scores DPO models: the policy is ``--model``, the reference ``--option reference=MODEL``.

Options (``--option``): ``norm=token|char|none`` (default ``token``, see
:mod:`judgekit.core.likelihood`), and for ``endogenous`` ``terminal=logits|zero``. Two
responses give verdict ``A``/``B`` by the higher score (``tie`` only on exact equality,
recorded as such); one response gives its score as the reward (the ``-pointwise``
variants read single-response files). A missing log-prob or an empty response is a
recorded failure, never a verdict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from judgekit.core.backend import get_backend
from judgekit.core.errors import ConfigError
from judgekit.core.likelihood import (
    NORMS,
    TERMINALS,
    Scored,
    endogenous_score,
    forward_score,
    normalise,
    pair_verdict,
    pmi_score,
    token_f1,
    total_logprob,
)
from judgekit.core.prompts import render
from judgekit.core.runner import Runner
from judgekit.core.types import GenerationParams, Judgment, Prompt, Sample, Turn
from judgekit.protocols.base import Protocol
from judgekit.protocols.single import skipped, too_long_reasons


class LikelihoodProtocol(Protocol):
    """Forward likelihood log P(response | instruction); the base of the likelihood judges."""

    name: ClassVar[str] = "likelihood"
    description: ClassVar[str] = "forward likelihood log P(response | instruction) per response; order-free"
    task: ClassVar[str] = "pairwise"
    templates: ClassVar[tuple[str, ...]] = ("likelihood",)
    methods: ClassVar[tuple[str, ...]] = ()  # no verdict prompt: --method does not apply
    scored: ClassVar[bool] = True
    option_names: ClassVar[tuple[str, ...]] = ("norm",)
    flag_options: ClassVar[tuple[str, ...]] = ()  # one scoring pass: no k samples to reduce
    default_model: ClassVar[str | None] = "smollm2"  # the raw base, as measured (docs/likelihood_judges.md)

    @property
    def norm(self) -> str:
        """The normalisation (``--option norm=...``)."""
        return str(self.config.option("norm", "token"))

    def check(self) -> None:
        """Refuse unknown options and values; ``--method`` does not apply (no verdict prompt)."""
        if self.config.method != "generative":
            raise ConfigError(f"protocol {self.name!r} scores log-probs; --method does not apply (leave it unset)")
        if self.config.samples != 1 and self.name not in ("flip-gen", "flip-gen-pointwise"):
            raise ConfigError(f"protocol {self.name!r} scores log-probs once per response; --samples does not apply")
        super().check()
        if self.norm not in NORMS:
            raise ConfigError(f"--option norm={self.norm}: choose {', '.join(NORMS)}")

    # -- what is scored ------------------------------------------------------------------

    def context(self, instruction: str) -> Prompt:
        """The context a response is scored after."""
        return render("likelihood", question=instruction)

    def fit_prompts(self, sample: Sample) -> list[Prompt]:
        """The longest sequences each response needs, for the context-length check."""
        ctx = self.context(sample.prompt)
        return [Prompt(ctx.messages, ctx.template, ctx.template_hash, assistant_prefix=r) for r in sample.responses]

    def score_all(self, samples: Sequence[Sample], runner: Runner) -> list[list[Scored]]:
        """One score per response of each sample."""
        pairs = [(self.context(s.prompt), r) for s in samples for r in s.responses]
        got = iter(runner.score_continuations([c for c, _ in pairs], [r for _, r in pairs]))
        return [[forward_score(next(got), self.norm) for _ in s.responses] for s in samples]

    # -- judging ---------------------------------------------------------------------------

    def judge(self, samples: Sequence[Sample], runner: Runner) -> list[Judgment]:
        """Score every response, then read verdicts (pairs) or rewards (single responses)."""
        reasons = too_long_reasons([self.fit_prompts(s) for s in samples], runner, 0)
        keep = [i for i, r in enumerate(reasons) if r is None]
        scored = iter(self.score_all([samples[i] for i in keep], runner))
        out = {i: skipped(samples[i].id, r) for i, r in enumerate(reasons) if r is not None}
        for i in keep:
            out[i] = self.judgment(samples[i], next(scored))
        return [out[i] for i in range(len(samples))]

    def judgment(self, sample: Sample, scored: list[Scored]) -> Judgment:
        """Scores -> verdict and reward; a missing score is a recorded failure."""
        per = tuple({"response": j, "score": s, **({"missing": w} if w else {})} for j, (s, w) in enumerate(scored))
        failures = [f"response {j}: {w}" for j, (s, w) in enumerate(scored) if s is None]
        trace = (Turn(name=self.name, prompt=f"{self.name} (norm={self.norm})", output="", parsed={"scores": per}),)
        extra = {"signal": self.name, "norm": self.norm}
        if failures:
            return Judgment(sample_id=sample.id, verdict=None, reward=None, per_order=per, parse_failure=True,
                            failure_reason="; ".join(failures), trace=trace, extra=extra)
        scores = tuple(float(s) for s, _ in scored)  # type: ignore[arg-type]
        if len(scores) == 2:
            label, probs = pair_verdict(scores)
            if label == "tie":
                extra["tie_reason"] = "exact tie: both responses have the same score"
            reward = 0.5 if label == "tie" else probs["A"]
            return Judgment(sample_id=sample.id, verdict=label, reward=reward, per_order=per, probs=probs,
                            scores=scores, consistent=None, trace=trace, extra=extra)
        if len(scores) == 1:
            return Judgment(sample_id=sample.id, verdict=f"{scores[0]:.6g}", reward=scores[0], per_order=per,
                            scores=scores, trace=trace, extra=extra)
        best = max(scores)
        winners = [j for j, s in enumerate(scores) if s == best]
        verdict = "tie" if len(winners) > 1 else chr(ord("A") + winners[0])
        return Judgment(sample_id=sample.id, verdict=verdict, reward=None, per_order=per, scores=scores,
                        trace=trace, extra=extra)


class PMIProtocol(LikelihoodProtocol):
    """PMI: log P(response | instruction) - log P(response); by default summed (``norm=none``, chosen on dev)."""

    name: ClassVar[str] = "pmi"
    description: ClassVar[str] = "PMI log P(r|x) - log P(r) per response (norm none|token|char); order-free; default"

    @property
    def norm(self) -> str:
        """Default ``none``: the summed PMI had the best length-controlled accuracy on dev."""
        return str(self.config.option("norm", "none"))

    def score_all(self, samples: Sequence[Sample], runner: Runner) -> list[list[Scored]]:
        """Conditional and unconditional pass per response."""
        responses = [r for s in samples for r in s.responses]
        cond = runner.score_continuations([self.context(s.prompt) for s in samples for _ in s.responses], responses)
        uncond = runner.score_continuations([self.context("")] * len(responses), responses)
        got = iter(zip(cond, uncond, strict=True))
        out = []
        for s in samples:
            out.append([pmi_score(*next(got), self.norm) for _ in s.responses])
        return out


class FlipProtocol(LikelihoodProtocol):
    """FLIP, likelihood form: log P(instruction | response)."""

    name: ClassVar[str] = "flip"
    description: ClassVar[str] = "FLIP likelihood form: log P(instruction | response) per response; order-free"
    templates: ClassVar[tuple[str, ...]] = ("flip",)

    def fit_prompts(self, sample: Sample) -> list[Prompt]:
        """The flip context of each response with the instruction appended."""
        out = []
        for r in sample.responses:
            ctx = render("flip", response=r)
            out.append(Prompt(ctx.messages, ctx.template, ctx.template_hash, assistant_prefix=sample.prompt))
        return out

    def score_all(self, samples: Sequence[Sample], runner: Runner) -> list[list[Scored]]:
        """The instruction scored after each response's flip context."""
        ctxs = [render("flip", response=r) for s in samples for r in s.responses]
        got = iter(runner.score_continuations(ctxs, [s.prompt for s in samples for _ in s.responses]))
        return [[forward_score(next(got), self.norm) for _ in s.responses] for s in samples]


class FlipGenerativeProtocol(LikelihoodProtocol):
    """FLIP, generative form: infer the instruction, token F1 against the real one."""

    name: ClassVar[str] = "flip-gen"
    description: ClassVar[str] = "FLIP generative form: infer the instruction, token F1 vs the real one; order-free"
    templates: ClassVar[tuple[str, ...]] = ("flip",)
    option_names: ClassVar[tuple[str, ...]] = ()

    @property
    def norm(self) -> str:
        """No normalisation: the score is an F1."""
        return "none"

    def fit_prompts(self, sample: Sample) -> list[Prompt]:
        """The flip prompt of each response (generation budget added by the check)."""
        return [render("flip", response=r) for r in sample.responses]

    def judge(self, samples: Sequence[Sample], runner: Runner) -> list[Judgment]:
        """Generate the inferred instructions (one batch), then F1 against the real ones."""
        reasons = too_long_reasons([self.fit_prompts(s) for s in samples], runner, self.config.max_new_tokens)
        keep = [i for i, r in enumerate(reasons) if r is None]
        prompts = [p for i in keep for p in self.fit_prompts(samples[i])]
        params = GenerationParams(max_new_tokens=self.config.max_new_tokens, temperature=self.config.temperature,
                                  top_p=self.config.top_p, seed=self.config.seed)
        gens = iter(runner.generate(prompts, params))
        out = {i: skipped(samples[i].id, r) for i, r in enumerate(reasons) if r is not None}
        for i in keep:
            s = samples[i]
            texts = [next(gens)[0].text.strip() for _ in s.responses]
            scored: list[Scored] = [
                (token_f1(t, s.prompt), None) if t else (None, "empty inferred instruction") for t in texts
            ]
            j = self.judgment(s, scored)
            out[i] = Judgment(**{**j.__dict__, "extra": {**j.extra, "inferred": texts}})
        return [out[i] for i in range(len(samples))]


class EndogenousProtocol(LikelihoodProtocol):
    """The endogenous reward of arXiv 2506.23235 (inverse soft Bellman operator on the logits)."""

    name: ClassVar[str] = "endogenous"
    description: ClassVar[str] = "endogenous reward (arXiv 2506.23235): logits as soft Q, inverse Bellman; order-free"
    option_names: ClassVar[tuple[str, ...]] = ("norm", "terminal")

    def check(self) -> None:
        """Also check ``terminal``."""
        super().check()
        if self.terminal not in TERMINALS:
            raise ConfigError(f"--option terminal={self.terminal}: choose {', '.join(TERMINALS)}")

    @property
    def terminal(self) -> str:
        """``logits`` (V after the last token from the logits) or ``zero`` (a terminal state)."""
        return str(self.config.option("terminal", "logits"))

    def score_all(self, samples: Sequence[Sample], runner: Runner) -> list[list[Scored]]:
        """One pass per response, with the soft values."""
        ctxs = [self.context(s.prompt) for s in samples for _ in s.responses]
        got = iter(runner.score_continuations(ctxs, [r for s in samples for r in s.responses], values=True))
        return [[endogenous_score(next(got), self.norm, self.terminal) for _ in s.responses] for s in samples]


@dataclass
class DPOProtocol(LikelihoodProtocol):
    """DPO implicit reward: beta * (log pi(y | x) - log pi_ref(y | x)), policy = the run's model."""

    name: ClassVar[str] = "dpo"
    description: ClassVar[str] = ("DPO implicit reward beta*(log pi(y|x) - log pi_ref(y|x)); --option reference=MODEL; "
                                  "order-free")
    option_names: ClassVar[tuple[str, ...]] = ("reference", "beta", "norm")
    default_model: ClassVar[str | None] = None  # the policy is the run's model (the shared default)
    reference_runner: Runner | None = None  # the reference model's runner; built from --option reference when None

    @property
    def norm(self) -> str:
        """Default ``none``: the summed log-ratio, as reward-bench scores DPO models."""
        return str(self.config.option("norm", "none"))

    @property
    def beta(self) -> float:
        """The DPO temperature (``--option beta=``, default 0.1); it scales the reward, never the verdict."""
        try:
            value = float(self.config.option("beta", 0.1))
        except ValueError as exc:
            raise ConfigError(f"--option beta={self.config.option('beta')}: a positive number") from exc
        if value <= 0:
            raise ConfigError(f"--option beta={value}: must be > 0")
        return value

    def check(self) -> None:
        """A reference model is required (unless a test injects its runner); beta must be positive."""
        super().check()
        if self.reference_runner is None and not self.config.option("reference"):
            raise ConfigError("protocol 'dpo' needs the reference model: --option reference=MODEL "
                              "(e.g. smollm2 for a policy fine-tuned from the embedded model)")
        _ = self.beta

    def reference(self, runner: Runner) -> Runner:
        """The reference model on the run's backend kind, sharing the run's call cache."""
        if self.reference_runner is None:
            kind = runner.backend.name
            if kind not in ("transformers", "vllm"):
                raise ConfigError(f"protocol 'dpo': the reference model is loaded with the transformers or vllm "
                                  f"backend, not {kind!r}")
            backend = get_backend(kind, model=str(self.config.option("reference")))
            self.reference_runner = Runner(backend, cache=runner.cache)
        return self.reference_runner

    def score_all(self, samples: Sequence[Sample], runner: Runner) -> list[list[Scored]]:
        """Policy and reference pass per response; the log-ratio sum times beta."""
        ctxs = [self.context(s.prompt) for s in samples for _ in s.responses]
        responses = [r for s in samples for r in s.responses]
        policy = runner.score_continuations(ctxs, responses)
        ref = self.reference(runner).score_continuations(ctxs, responses)
        got = iter(zip(policy, ref, strict=True))
        out: list[list[Scored]] = []
        for s in samples:
            row: list[Scored] = []
            for _ in s.responses:
                pol, rf = next(got)
                a, why_a = total_logprob(pol)
                b, why_b = total_logprob(rf)
                if a is None or b is None:
                    row.append((None, why_a or f"reference: {why_b}"))
                elif len(pol.logprobs) != len(rf.logprobs):
                    row.append((None, "policy and reference tokenise the response differently"))
                else:
                    row.append((self.beta * normalise(a - b, pol, self.norm), None))
            out.append(row)
        return out


def _pointwise(cls: type[LikelihoodProtocol]) -> type[LikelihoodProtocol]:
    """The same judge reading single-response files (task ``pointwise``): the score is the reward."""
    return type(f"{cls.__name__}Pointwise", (cls,), {
        "name": f"{cls.name}-pointwise", "task": "pointwise", "__doc__": f"{cls.__doc__} One response per item.",
        "description": f"{cls.description.split(';')[0]}; one response per item, the score is the reward",
    })


LikelihoodPointwise = _pointwise(LikelihoodProtocol)
PMIPointwise = _pointwise(PMIProtocol)
FlipPointwise = _pointwise(FlipProtocol)
FlipGenerativePointwise = _pointwise(FlipGenerativeProtocol)
EndogenousPointwise = _pointwise(EndogenousProtocol)
DPOPointwise = _pointwise(DPOProtocol)
