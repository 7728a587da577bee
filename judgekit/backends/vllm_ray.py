"""Ray Data's LLM batch API with vLLM: processor config and rows (data parallelism, see ``docs/engines.md``).

Pure builders: the caller hands the config to ``ray.data.llm.vLLMEngineProcessorConfig``
and the rows to the processor; only :func:`ray_structured_outputs_key` looks at the
installed Ray.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from judgekit.backends.vllm_requests import ChatTokenizer, render_prompt_text, sampling_kwargs, structured_outputs_spec
from judgekit.core.types import GenerationParams, Prompt


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
