"""The batched backend interface every engine implements.

A backend turns rendered prompts into generations. It knows nothing of protocols,
formats or caching: the runner (``judgekit.core.runner``) adds caching and ordering on
top, so every engine gets resume-from-cache for free.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any, Protocol, runtime_checkable

from judgekit.core.errors import ConfigError
from judgekit.core.lazy import LazyBackend
from judgekit.core.types import ContinuationScore, Generation, GenerationParams, Prompt

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


@runtime_checkable
class ContinuationScorer(Protocol):
    """The optional capability likelihood judges need: score a given continuation.

    ``score_continuations(contexts, continuations, values)`` returns, for each pair,
    the log-probability of every token of ``continuations[i]`` appended after the
    rendered ``contexts[i]`` (chat template + generation prompt + assistant prefix),
    teacher-forced: one forward pass per (context, continuation), no generation.
    ``values=True`` asks for the soft values of the endogenous reward as well
    (:class:`~judgekit.core.types.ContinuationScore`); an engine that cannot give them
    raises :class:`~judgekit.core.errors.ConfigError`. Text is never truncated: a pair
    longer than the context raises :class:`PromptTooLongError`.
    """

    name: str
    model_id: str

    def score_continuations(
        self, contexts: Sequence[Prompt], continuations: Sequence[str], values: bool = False
    ) -> list[ContinuationScore]:
        """Per-token log-probs of each continuation after its context."""
        ...


def continuation_scorer(backend: Backend) -> ContinuationScorer:
    """``backend`` as a :class:`ContinuationScorer`, or a one-line ConfigError naming it."""
    if not callable(getattr(backend, "score_continuations", None)):
        raise ConfigError(
            f"backend {backend.name!r} cannot score a continuation's token log-probs (likelihood judges need "
            "transformers, vllm, or an OpenAI-compatible completions server that supports echo with logprobs)"
        )
    return backend  # type: ignore[return-value]


BackendFactory = Callable[..., Backend]

_REGISTRY: dict[str, str] = {
    "fake": "judgekit.backends.fake:FakeBackend",
    "transformers": "judgekit.backends.transformers:TransformersBackend",
    "openai": "judgekit.backends.openai:OpenAIBackend",
    "vllm": "judgekit.backends.vllm:VLLMBackend",
    "scalar-rm": "judgekit.backends.scalar_rm:ScalarRMBackend",
}


# Backends whose identity is known without building them (``"module:function"`` taking the
# constructor's keyword arguments and returning a ``BackendPlan``): built lazily by
# :func:`open_backend`, so a fully cached run never loads their model.
_PLANS: dict[str, str] = {
    "fake": "judgekit.backends.fake:plan",
    "transformers": "judgekit.backends.plans:transformers_plan",
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


def open_backend(name: str, on_load: Callable[[], None] | None = None, **kwargs: Any) -> Any:
    """A backend by name, built only when a call first needs it where its plan is known.

    Backends with a plan (:data:`_PLANS`) come back as a
    :class:`~judgekit.core.lazy.LazyBackend` (``on_load`` runs just before the build);
    the others are built now, as :func:`get_backend` does.
    """
    import importlib

    if name not in _REGISTRY:
        raise ValueError(f"unknown backend {name!r}; choose from {', '.join(backend_names())}")
    if name not in _PLANS:
        if on_load is not None:
            on_load()
        return get_backend(name, **kwargs)
    module_name, _, fn_name = _PLANS[name].partition(":")
    plan = getattr(importlib.import_module(module_name), fn_name)(**kwargs)
    return LazyBackend(plan, lambda: get_backend(name, **kwargs), on_load)


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
