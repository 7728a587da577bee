"""The batched backend interface every engine implements.

A backend turns rendered prompts into generations. It knows nothing of protocols,
formats or caching: the runner (``judgekit.core.runner``) adds caching and ordering on
top, so every engine gets resume-from-cache for free.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any, Protocol, runtime_checkable

from judgekit.core.types import Generation, GenerationParams, Prompt

ProgressFn = Callable[[int], None]


@runtime_checkable
class Backend(Protocol):
    """A batched text-generation engine.

    ``model_id`` identifies the weights (name + revision or file hash): it is part of
    every cache key, so two different models never share cached outputs. A backend
    whose outputs also depend on other settings (dtype, device, server URL, API mode,
    chat template, constraint style) reports them from an optional ``identity()``
    method; :func:`judgekit.core.runner.backend_identity` puts them in every cache key and
    in the run fingerprint.
    """

    name: str
    model_id: str
    supports_constraints: bool

    def generate(
        self, prompts: Sequence[Prompt], params: GenerationParams
    ) -> list[list[Generation]]:
        """Return ``params.n`` generations per prompt, in prompt order.

        The ``n`` continuations of one prompt must share its prefill (one prompt,
        ``n`` sequences), not be ``n`` independent calls.
        """
        ...

    def score_choices(
        self, prompts: Sequence[Prompt], choices: Sequence[str]
    ) -> list[dict[str, float]]:
        """Next-token probabilities of each choice string after each prompt.

        The prompt includes its ``assistant_prefix``; each choice is scored by the
        probability of its first token, and the result is renormalised over
        ``choices`` (so the values sum to 1). When no choice has any probability (e.g.
        none is among an engine's top alternatives) every value is 0: never an even
        split. One forward pass per prompt.
        """
        ...

    def info(self) -> dict[str, Any]:
        """What produced the outputs, for the run manifest (no secrets)."""
        ...


BackendFactory = Callable[..., Backend]

_REGISTRY: dict[str, str] = {
    "fake": "judgekit.backends.fake:FakeBackend",
    "transformers": "judgekit.backends.transformers:TransformersBackend",
    "openai": "judgekit.backends.openai:OpenAIBackend",
    "vllm": "judgekit.backends.vllm:VLLMBackend",
    "scalar-rm": "judgekit.backends.scalar_rm:ScalarRMBackend",
}


def register_backend(name: str, target: str) -> None:
    """Register ``"module.path:ClassName"`` under ``name`` (imported lazily)."""
    _REGISTRY[name] = target


def backend_names() -> list[str]:
    """Names accepted by :func:`get_backend`."""
    return sorted(_REGISTRY)


def get_backend(name: str, **kwargs: Any) -> Backend:
    """Instantiate a backend by name; its module is imported only now."""
    import importlib

    if name not in _REGISTRY:
        raise ValueError(f"unknown backend {name!r}; choose from {', '.join(backend_names())}")
    module_name, _, cls_name = _REGISTRY[name].partition(":")
    module = importlib.import_module(module_name)
    factory: BackendFactory = getattr(module, cls_name)
    return factory(**kwargs)


class PartialGenerationError(RuntimeError):
    """Some prompts of a batch failed after retries; the others succeeded.

    ``results[i]`` is the generations of prompt ``i`` or ``None`` where it failed, and
    ``errors`` maps each failed index to its reason; ``too_long`` holds the indices the
    server refused as too long for the context. The runner caches the successes
    before re-raising, so a re-run only retries the failures.
    """

    def __init__(
        self, results: list[list[Generation] | None], errors: dict[int, str], too_long: Collection[int] = ()
    ) -> None:
        self.results = results
        self.errors = errors
        self.too_long = frozenset(too_long)  # failed because the server said the prompt exceeds the context
        lines = [f"  prompt {i}: {why}" for i, why in sorted(errors.items())]
        super().__init__(f"{len(errors)} of {len(results)} requests failed:\n" + "\n".join(lines))


class PartialChoicesError(RuntimeError):
    """Some prompts of a ``score_choices`` batch failed; the others succeeded.

    Mirrors :class:`PartialGenerationError`: ``results[i]`` is the probabilities of
    prompt ``i`` or ``None`` where it failed; ``errors`` maps each failed index to
    its reason.
    """

    def __init__(
        self, results: list[dict[str, float] | None], errors: dict[int, str], too_long: Collection[int] = ()
    ) -> None:
        self.results = results
        self.errors = errors
        self.too_long = frozenset(too_long)
        lines = [f"  prompt {i}: {why}" for i, why in sorted(errors.items())]
        super().__init__(f"{len(errors)} of {len(results)} requests failed:\n" + "\n".join(lines))


class PromptTooLongError(ValueError):
    """A prompt plus its generation budget does not fit the model's context."""

    def __init__(self, index: int, n_tokens: int, limit: int) -> None:
        self.index, self.n_tokens, self.limit = index, n_tokens, limit
        super().__init__(f"prompt {index} has {n_tokens} tokens; the limit is {limit}")
