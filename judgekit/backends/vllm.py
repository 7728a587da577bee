"""vLLM offline backend (``--backend vllm``, extra ``judgekit[vllm]``).

One ``LLM.generate`` call per batch: ``SamplingParams(n=k)`` draws the k samples of
a prompt from one prefill, prefix caching shares the long judge instructions
between prompts, structured outputs enforce constraints and ``logprobs`` gives
the first-token distribution for logit mode. Multi-GPU: ``tensor_parallel_size``
splits one model over GPUs; for data parallelism run ``vllm serve
--data-parallel-size N`` with the HTTP backend, or Ray Data's LLM batch API with
:func:`ray_data_processor_config` (see ``docs/engines.md``).

``vllm`` is imported only when :class:`VLLMBackend` is constructed; every request
is built by the pure functions below, which are unit-tested without vLLM.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from judgekit.core.errors import ConfigError
from judgekit.core.models import EMBEDDED_ALIASES, resolve_model, weights_hash
from judgekit.core.special_tokens import POLICY, neutralise_messages, tokenizer_special_tokens
from judgekit.core.types import Constraint, ContinuationScore, Generation, GenerationParams, Prompt, sample_seed
from judgekit.core.weights import shipped_adapter


class ChatTokenizer(Protocol):
    """The part of a Hugging Face tokenizer that prompt rendering needs."""

    def apply_chat_template(self, conversation: Any, tokenize: bool = ..., add_generation_prompt: bool = ...) -> Any:
        """Render chat messages with the model's template."""
        ...

    def encode(self, text: str, add_special_tokens: bool = ...) -> list[int]:
        """Token ids of ``text``."""
        ...


# ---------------------------------------------------------------- pure request building
def local_model(model: str) -> tuple[str, str]:
    """``(what vLLM loads, model id)`` for a model argument.

    judgekit's own names (``judgekit-135m``, ``smollm2``/``embedded``), a ``.gguf`` file and
    a local directory go through :func:`~judgekit.core.models.resolve_model` (the merged or
    converted Hugging Face directory, id with a content hash, as the transformers backend
    uses); anything else is handed to vLLM as a Hugging Face hub id.
    """
    lowered = model.lower()
    if shipped_adapter(model) is not None or lowered in EMBEDDED_ALIASES or Path(model).expanduser().exists():
        resolved = resolve_model(model)
        return str(resolved.path), resolved.model_id
    return model, model


def sampling_kwargs(params: GenerationParams, *, logprobs: int | None = None) -> dict[str, Any]:
    """Keyword arguments of ``vllm.SamplingParams`` for judgekit decoding parameters.

    Raises ``ValueError`` for ``n > 1`` at temperature 0, which vLLM refuses ("n must
    be 1 when using greedy sampling") only once the whole batch is submitted.
    """
    if params.n > 1 and params.temperature == 0:
        raise ValueError("n > 1 needs temperature > 0 (greedy decoding gives n identical answers; vLLM refuses it)")
    kwargs: dict[str, Any] = {
        "n": params.n,
        "temperature": params.temperature,
        "top_p": params.top_p,
        "seed": params.seed,
        "max_tokens": params.max_new_tokens,
    }
    if params.stop:
        kwargs["stop"] = list(params.stop)
    if logprobs is not None:
        kwargs["logprobs"] = logprobs
    return kwargs


def choice_sampling_kwargs(top_logprobs: int) -> dict[str, Any]:
    """``SamplingParams`` kwargs for logit mode: one greedy token and its alternatives."""
    return {"n": 1, "temperature": 0.0, "max_tokens": 1, "logprobs": top_logprobs}


def structured_outputs_spec(constraint: Constraint | None) -> dict[str, Any] | None:
    """Keyword arguments of ``StructuredOutputsParams`` (or ``GuidedDecodingParams``)."""
    if constraint is None:
        return None
    if constraint.kind == "regex":
        return {"regex": constraint.pattern}
    return {"json": json.loads(constraint.pattern)}


def vllm_model_id(model: str, revision: str | None = None, tokenizer: str | None = None) -> str:
    """The cache identity of a vLLM model: a hub name (+ revision), or a local directory's content hash.

    A local directory (and a local tokenizer directory beside it) is identified by
    :func:`judgekit.core.models.weights_hash` - every byte of every model file - so two
    directories with the same name but different weights or chat templates never
    share cached outputs.
    """
    local = Path(model).expanduser()
    if local.is_dir():
        out = f"vllm:{local.name}-{weights_hash(local)}"
    else:
        out = f"vllm:{model}" + (f"@{revision}" if revision else "")
    if tokenizer and Path(tokenizer).expanduser().is_dir():
        out += f"+tokenizer-{weights_hash(Path(tokenizer).expanduser())}"
    elif tokenizer:
        out += f"+tokenizer:{tokenizer}"
    return out


def render_prompt_text(prompt: Prompt, tokenizer: ChatTokenizer) -> str:
    """Apply the model's chat template to ``prompt`` and append its assistant prefix."""
    messages = neutralise_messages([(m.role, m.content) for m in prompt.messages],
                                   tokenizer_special_tokens(tokenizer))
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return str(text) + prompt.assistant_prefix


def prompt_inputs(prompts: Sequence[Prompt], tokenizer: ChatTokenizer) -> list[dict[str, list[int]]]:
    """``TokensPrompt`` dicts for ``LLM.generate``.

    Token ids are passed (rather than text) so special tokens written by the chat
    template (BOS included) are not added a second time by vLLM's tokenizer call.
    """
    return [
        {"prompt_token_ids": list(tokenizer.encode(render_prompt_text(p, tokenizer), add_special_tokens=False))}
        for p in prompts
    ]


def engine_kwargs(
    model: str,
    *,
    tokenizer: str | None = None,
    revision: str | None = None,
    tensor_parallel_size: int = 1,
    enable_prefix_caching: bool = True,
    max_model_len: int | None = None,
    gpu_memory_utilization: float = 0.9,
    dtype: str = "auto",
    seed: int = 0,
    max_logprobs: int = 20,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Keyword arguments of ``vllm.LLM`` (the engine arguments)."""
    kwargs: dict[str, Any] = {
        "model": model,
        "tensor_parallel_size": tensor_parallel_size,
        "enable_prefix_caching": enable_prefix_caching,
        "gpu_memory_utilization": gpu_memory_utilization,
        "dtype": dtype,
        "seed": seed,
        "max_logprobs": max_logprobs,
    }
    if tokenizer:
        kwargs["tokenizer"] = tokenizer
    if revision:
        kwargs["revision"] = revision
    if max_model_len:
        kwargs["max_model_len"] = max_model_len
    kwargs.update(extra or {})
    return kwargs


def vllm_engine_fields(vllm: Any) -> frozenset[str] | None:
    """Names of ``vllm.EngineArgs`` fields (what ``LLM(**kwargs)`` accepts), or None when it cannot tell."""
    import dataclasses

    args = getattr(vllm, "EngineArgs", None)
    if args is None or not dataclasses.is_dataclass(args):
        return None
    return frozenset(f.name for f in dataclasses.fields(args))


def unknown_engine_args(extra: Mapping[str, Any], fields: frozenset[str] | None) -> list[str]:
    """The keys of ``extra`` that are not engine arguments (none when the fields are unknown)."""
    return [] if fields is None else sorted(k for k in extra if k not in fields)


def engine_max_len(llm: Any) -> int | None:
    """The context length the engine settled on (``model_config.max_model_len``), if it says."""
    engine = getattr(llm, "llm_engine", None)
    nested = getattr(getattr(engine, "vllm_config", None), "model_config", None)
    for holder in (getattr(engine, "model_config", None), nested):
        value = getattr(holder, "max_model_len", None)
        if isinstance(value, int) and value > 0:
            return value
    return None


def choice_token_ids(tokenizer: ChatTokenizer, choices: Sequence[str], prompt_text: str = "") -> dict[str, int]:
    """First token id of each choice as tokenised right after ``prompt_text`` (the verdict prefix).

    A choice can tokenise differently alone than after the prompt (``"A"`` vs ``" A"``,
    or a merge with the prefix's last characters), so the id is read from the
    tokenisation of ``prompt_text + choice`` where it extends that of ``prompt_text``;
    when appending the choice re-tokenises the prompt's own end, the choice alone is
    used. Choices may share a first token: see :func:`shared_first_tokens`.
    """
    base = tokenizer.encode(prompt_text, add_special_tokens=False) if prompt_text else []
    out: dict[str, int] = {}
    for c in choices:
        if not c:
            raise ValueError("choices must be non-empty strings")
        full = tokenizer.encode(prompt_text + c, add_special_tokens=False)
        if full[: len(base)] == base and len(full) > len(base):
            out[c] = int(full[len(base)])
            continue
        ids = tokenizer.encode(c, add_special_tokens=False)
        if not ids:
            raise ValueError(f"choice {c!r} encodes to no tokens")
        out[c] = int(ids[0])
    return out


def shared_first_tokens(token_ids: Mapping[str, int]) -> list[tuple[str, ...]]:
    """Groups of choices with the same first token (they get equal probabilities: a tie)."""
    groups: dict[int, list[str]] = {}
    for c, t in token_ids.items():
        groups.setdefault(t, []).append(c)
    return [tuple(g) for g in groups.values() if len(g) > 1]


def probs_from_token_logprobs(logprobs: Mapping[int, float], token_ids: Mapping[str, int]) -> dict[str, float] | None:
    """Renormalised choice probabilities from one position's ``{token_id: logprob}``.

    Choices whose token is not among the returned alternatives get 0; ``None``
    when none of them is there.
    """
    mass = {c: math.exp(logprobs[t]) if t in logprobs else 0.0 for c, t in token_ids.items()}
    total = sum(mass.values())
    if total <= 0:
        return None
    return {c: v / total for c, v in mass.items()}


# ---------------------------------------------------------------- Ray Data LLM batch API
def ray_data_processor_config(
    model: str,
    *,
    replicas: int = 1,
    tensor_parallel_size: int = 1,
    batch_size: int = 64,
    enable_prefix_caching: bool = True,
    max_model_len: int | None = None,
    max_logprobs: int = 20,
    extra_engine_kwargs: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Keyword arguments of ``ray.data.llm.vLLMEngineProcessorConfig``.

    ``replicas`` vLLM engines (``concurrency``), each over ``tensor_parallel_size``
    GPUs, read batches of ``batch_size`` rows. Prompts arrive pre-rendered by
    :func:`ray_data_rows`, so Ray's chat-template stage is switched off.
    """
    engine = {
        "tensor_parallel_size": tensor_parallel_size,
        "enable_prefix_caching": enable_prefix_caching,
        "max_logprobs": max_logprobs,
    }
    if max_model_len:
        engine["max_model_len"] = max_model_len
    engine.update(extra_engine_kwargs or {})
    return {
        "model_source": model,
        "engine_kwargs": engine,
        "concurrency": replicas,
        "batch_size": batch_size,
        "apply_chat_template": False,
        "tokenize": True,
        "detokenize": True,
    }


def ray_structured_outputs_key(stage_source: str | None = None) -> str:
    """The ``sampling_params`` key under which the installed Ray passes a constraint to vLLM.

    Ray's vLLM stage pops ``guided_decoding`` (older releases) or ``structured_outputs``
    (newer ones) from each row's ``sampling_params`` and builds the params object
    itself; a key it does not pop reaches ``SamplingParams`` twice or as a raw dict
    and fails. ``stage_source`` is the stage module's source; by default it is read
    from the installed ``ray.llm._internal.batch.stages.vllm_engine_stage``.
    """
    if stage_source is None:
        import importlib
        import inspect

        try:
            module = importlib.import_module("ray.llm._internal.batch.stages.vllm_engine_stage")
        except ImportError:  # no Ray here: rows for a current Ray
            return "structured_outputs"
        stage_source = inspect.getsource(module)
    return "structured_outputs" if '"structured_outputs"' in stage_source else "guided_decoding"


def ray_data_rows(
    prompts: Sequence[Prompt],
    params: GenerationParams,
    tokenizer: ChatTokenizer,
    *,
    structured_outputs_key: str = "auto",
) -> list[dict[str, Any]]:
    """Rows for a Ray Data LLM processor: rendered ``prompt``, ``sampling_params``, index.

    ``structured_outputs_key="auto"`` asks the installed Ray which key its vLLM stage
    reads (:func:`ray_structured_outputs_key`), and is only consulted for constrained
    params; pass ``"structured_outputs"`` or ``"guided_decoding"`` to force one.
    """
    sampling = sampling_kwargs(params)
    spec = structured_outputs_spec(params.constraint)
    if spec is not None:
        key = ray_structured_outputs_key() if structured_outputs_key == "auto" else structured_outputs_key
        if key not in ("structured_outputs", "guided_decoding"):
            raise ValueError(f"structured_outputs_key must be auto, structured_outputs or guided_decoding, not {key!r}")
        sampling[key] = spec
    return [
        {"judgekit_index": i, "prompt": render_prompt_text(p, tokenizer), "sampling_params": dict(sampling)}
        for i, p in enumerate(prompts)
    ]


# ---------------------------------------------------------------- the backend
def continuation_inputs(
    contexts: Sequence[Prompt], continuations: Sequence[str], tokenizer: ChatTokenizer
) -> tuple[list[dict[str, list[int]]], list[int]]:
    """Token ids of ``render(context) + continuation`` (the continuation tokenised on its own) and its token count."""
    inputs, tails = [], []
    for ctx, text in zip(contexts, continuations, strict=True):
        head = tokenizer.encode(render_prompt_text(ctx, tokenizer), add_special_tokens=False)
        tail = tokenizer.encode(text, add_special_tokens=False) if text else []
        inputs.append({"prompt_token_ids": list(head) + list(tail)})
        tails.append(len(tail))
    return inputs, tails


def tail_logprobs(
    prompt_logprobs: Sequence[Mapping[int, Any] | None], ids: Sequence[int], n: int
) -> list[float | None]:
    """Log-probs of the last ``n`` prompt tokens from vLLM's ``prompt_logprobs`` ({token id: Logprob} per position).

    ``None`` where vLLM gave no entry for the actual token (never a guess).
    """
    out: list[float | None] = []
    for k in range(len(ids) - n, len(ids)):
        entry = prompt_logprobs[k] if k < len(prompt_logprobs) else None
        hit = entry.get(ids[k]) if entry else None
        out.append(None if hit is None else float(getattr(hit, "logprob", hit)))
    return out


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
