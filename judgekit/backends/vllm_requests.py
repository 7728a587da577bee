"""Pure request shaping for the vLLM backends: model ids, engine and sampling arguments, token inputs.

Every request :class:`~judgekit.backends.vllm.VLLMBackend` sends (and the rows of the
Ray Data path, :mod:`judgekit.backends.vllm_ray`) is built here, without importing
vLLM, so all of it is unit-tested on a machine without vLLM.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from judgekit.core.models import EMBEDDED_ALIASES, resolve_model, weights_hash
from judgekit.core.special_tokens import neutralise_messages, tokenizer_special_tokens
from judgekit.core.types import Constraint, GenerationParams, Prompt
from judgekit.core.weights import shipped_adapter


class ChatTokenizer(Protocol):
    """The part of a Hugging Face tokenizer that prompt rendering needs."""

    def apply_chat_template(self, conversation: Any, tokenize: bool = ..., add_generation_prompt: bool = ...) -> Any:
        """Render chat messages with the model's template."""
        ...

    def encode(self, text: str, add_special_tokens: bool = ...) -> list[int]:
        """Token ids of ``text``."""
        ...


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


# ---------------------------------------------------------------- likelihood judges
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
