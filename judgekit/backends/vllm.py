"""vLLM offline backend (``--backend vllm``, extra ``judgekit[vllm]``).

One ``LLM.generate`` call per batch: ``SamplingParams(n=k)`` draws the k samples of
a prompt from one prefill, prefix caching shares the long judge instructions
between prompts, structured outputs enforce constraints and ``logprobs`` gives
the first-token distribution for logit mode. Multi-GPU: ``tensor_parallel_size``
splits one model over GPUs; for data parallelism run ``vllm serve
--data-parallel-size N`` with the HTTP backend, or Ray Data's LLM batch API with
:func:`ray_data_processor_config` (see ``docs/engines.md``).

``vllm`` is imported only when :class:`VLLMBackend` is constructed; every request
is built by the pure functions of :mod:`judgekit.backends.vllm_requests` (re-exported
here, with the Ray Data builders of :mod:`judgekit.backends.vllm_ray`), which are
unit-tested without vLLM.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from judgekit.backends.vllm_ray import (
    ray_data_processor_config,
    ray_data_rows,
    ray_structured_outputs_key,
)
from judgekit.backends.vllm_requests import (
    ChatTokenizer,
    choice_sampling_kwargs,
    choice_token_ids,
    continuation_inputs,
    engine_kwargs,
    engine_max_len,
    local_model,
    probs_from_token_logprobs,
    prompt_inputs,
    render_prompt_text,
    sampling_kwargs,
    shared_first_tokens,
    structured_outputs_spec,
    tail_logprobs,
    unknown_engine_args,
    vllm_engine_fields,
    vllm_model_id,
)
from judgekit.core.errors import ConfigError
from judgekit.core.special_tokens import POLICY
from judgekit.core.types import Constraint, ContinuationScore, Generation, GenerationParams, Prompt, sample_seed

__all__ = [
    "ChatTokenizer",
    "VLLMBackend",
    "choice_sampling_kwargs",
    "choice_token_ids",
    "continuation_inputs",
    "engine_kwargs",
    "engine_max_len",
    "local_model",
    "probs_from_token_logprobs",
    "prompt_inputs",
    "ray_data_processor_config",
    "ray_data_rows",
    "ray_structured_outputs_key",
    "render_prompt_text",
    "sampling_kwargs",
    "shared_first_tokens",
    "structured_outputs_spec",
    "tail_logprobs",
    "unknown_engine_args",
    "vllm_engine_fields",
    "vllm_model_id",
]


class VLLMBackend:
    """Offline vLLM engine behind judgekit's batched backend interface.

    ``model`` is a Hugging Face id or local directory. ``data_parallel_size`` > 1 is
    refused here: one process drives one engine; use ``vllm serve
    --data-parallel-size N`` with ``--backend openai``, or Ray Data (docs/engines.md).
    """

    name = "vllm"
    supports_constraints = True

    def __init__(
        self,
        model: str,
        *,
        tokenizer: str | None = None,
        revision: str | None = None,
        tensor_parallel_size: int = 1,
        data_parallel_size: int = 1,
        enable_prefix_caching: bool = True,
        max_model_len: int | None = None,
        gpu_memory_utilization: float = 0.9,
        dtype: str = "auto",
        seed: int = 0,
        top_logprobs: int = 20,
        engine_extra: Mapping[str, Any] | None = None,
    ) -> None:
        if data_parallel_size != 1:
            raise ValueError(
                "data_parallel_size > 1 needs one engine per GPU group: run `vllm serve --data-parallel-size N` "
                "and use --backend openai, or Ray Data's LLM API (see docs/engines.md)"
            )
        import vllm  # lazy: judgekit works without vLLM installed

        self._vllm = vllm
        unknown = unknown_engine_args(engine_extra or {}, vllm_engine_fields(vllm))
        if unknown:
            raise ConfigError(f"unknown vLLM engine argument(s) {', '.join(unknown)} (vllm {vllm.__version__}); "
                              "see vllm.EngineArgs")
        self.top_logprobs = top_logprobs
        path, _ = local_model(model)
        self.engine_kwargs = engine_kwargs(
            path, tokenizer=tokenizer, revision=revision, tensor_parallel_size=tensor_parallel_size,
            enable_prefix_caching=enable_prefix_caching, max_model_len=max_model_len,
            gpu_memory_utilization=gpu_memory_utilization, dtype=dtype, seed=seed,
            max_logprobs=max(top_logprobs, 1), extra=engine_extra,
        )
        self.model_id = vllm_model_id(path, revision, tokenizer)  # a resolved local dir: its content hash
        self._llm = vllm.LLM(**self.engine_kwargs)
        self._tokenizer: ChatTokenizer = self._llm.get_tokenizer()
        # Without a limit the runner's length guard is off, and one over-long prompt
        # aborts the whole generate() batch: take it from the engine.
        self.max_context: int | None = max_model_len or engine_max_len(self._llm)
        self._so_cls, self._so_field = self._structured_outputs_api()
        self._missing_choices = 0
        self._shared_choices: set[tuple[str, ...]] = set()
        self._prompt_tokens = [0, 0]  # [total, found in the prefix cache] (RequestOutput.num_cached_tokens)

    def _run(self, inputs: list[dict[str, list[int]]], sampling: Any) -> list[Any]:
        """``LLM.generate`` on token ids, counting prompt tokens and those served from the prefix cache."""
        outputs = self._llm.generate(inputs, sampling, use_tqdm=False)
        for x, out in zip(inputs, outputs, strict=True):
            self._prompt_tokens[0] += len(x["prompt_token_ids"])
            self._prompt_tokens[1] += int(getattr(out, "num_cached_tokens", 0) or 0)
        return list(outputs)

    def _structured_outputs_api(self) -> tuple[Any, str]:
        """``(params class, SamplingParams field)``: new API first, then the pre-0.10.2 one."""
        sp = self._vllm.sampling_params
        if hasattr(sp, "StructuredOutputsParams"):
            return sp.StructuredOutputsParams, "structured_outputs"
        return sp.GuidedDecodingParams, "guided_decoding"

    def _sampling_params(self, kwargs: dict[str, Any], constraint: Constraint | None) -> Any:
        spec = structured_outputs_spec(constraint)
        if spec is not None:
            kwargs = {**kwargs, self._so_field: self._so_cls(**spec)}
        return self._vllm.SamplingParams(**kwargs)

    def count_tokens(self, prompts: Sequence[Prompt]) -> list[int]:
        """Prompt lengths in tokens, chat template included."""
        return [len(x["prompt_token_ids"]) for x in prompt_inputs(prompts, self._tokenizer)]

    def generate(self, prompts: Sequence[Prompt], params: GenerationParams) -> list[list[Generation]]:
        """``params.n`` generations per prompt from one batched ``LLM.generate`` call."""
        if not prompts:
            return []
        kwargs = sampling_kwargs(params)
        # One SamplingParams per prompt, seeded per prompt and first sample index: vLLM
        # draws a seeded request from its own generator, so batch make-up changes nothing.
        first = params.first_index
        sampling = [
            self._sampling_params({**kwargs, "seed": sample_seed(params.seed, p, first)}, params.constraint)
            for p in prompts
        ]
        outputs = self._run(prompt_inputs(prompts, self._tokenizer), sampling)
        return [
            [Generation(c.text, c.finish_reason or "stop", len(c.token_ids)) for c in out.outputs]
            for out in outputs
        ]

    def score_choices(self, prompts: Sequence[Prompt], choices: Sequence[str]) -> list[dict[str, float]]:
        """First-token probabilities of ``choices`` from the top ``top_logprobs`` alternatives.

        All zeros when none of the choice tokens is among them (never an even split).
        """
        if not prompts:
            return []
        ids = [choice_token_ids(self._tokenizer, choices, render_prompt_text(p, self._tokenizer)) for p in prompts]
        for per_prompt in ids:
            self._shared_choices.update(shared_first_tokens(per_prompt))
        sampling = self._vllm.SamplingParams(**choice_sampling_kwargs(self.top_logprobs))
        outputs = self._run(prompt_inputs(prompts, self._tokenizer), sampling)
        results = []
        for out, prompt_ids in zip(outputs, ids, strict=True):
            first = out.outputs[0].logprobs[0]  # {token_id: Logprob}
            probs = probs_from_token_logprobs({int(t): float(lp.logprob) for t, lp in first.items()}, prompt_ids)
            if probs is None:  # no choice token among the alternatives: zero mass, a recorded failure
                self._missing_choices += 1
                probs = {c: 0.0 for c in choices}
            results.append(probs)
        return results

    def score_continuations(
        self, contexts: Sequence[Prompt], continuations: Sequence[str], values: bool = False
    ) -> list[ContinuationScore]:
        """Continuation token log-probs from ``prompt_logprobs=0`` (the actual token's log-prob at each position).

        ``values`` (the endogenous reward's soft values) needs the full logits, which
        vLLM does not return: refused.
        """
        if values:
            raise ConfigError("backend vllm: the endogenous reward needs the full next-token logits (log-sum-exp), "
                              "which vLLM does not return; use the transformers backend")
        if not contexts:
            return []
        inputs, tails = continuation_inputs(contexts, continuations, self._tokenizer)
        sampling = self._vllm.SamplingParams(max_tokens=1, temperature=0.0, prompt_logprobs=0)
        outputs = self._llm.generate(inputs, sampling, use_tqdm=False)
        return [
            ContinuationScore(logprobs=tuple(tail_logprobs(out.prompt_logprobs or [], x["prompt_token_ids"], n)),
                              n_chars=len(text))
            for out, x, n, text in zip(outputs, inputs, tails, continuations, strict=True)
        ]

    def identity(self) -> dict[str, Any]:
        """Output-affecting settings, part of every cache key and the run fingerprint."""
        keep = ("tokenizer", "revision", "dtype", "max_model_len", "quantization")
        return {"backend": self.name, "top_logprobs": self.top_logprobs, "data_special_tokens": POLICY,
                **{k: self.engine_kwargs[k] for k in keep if k in self.engine_kwargs}}

    def info(self) -> dict[str, Any]:
        """Manifest entry."""
        return {
            "backend": self.name,
            "model_id": self.model_id,
            "vllm_version": getattr(self._vllm, "__version__", "unknown"),
            "engine": {k: v for k, v in self.engine_kwargs.items() if k != "model"},
            "structured_outputs_api": self._so_field,
            "max_context": self.max_context,
            "choices_not_in_top_logprobs": self._missing_choices,
            "choices_sharing_first_token": sorted(list(g) for g in self._shared_choices),
            "prompt_tokens_total": self._prompt_tokens[0],
            "prompt_tokens_cached": self._prompt_tokens[1],
        }
