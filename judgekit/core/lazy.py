"""A backend that is built only when a call misses the cache.

A re-run whose every call is a cache hit needs the backend's identity (it is part of
every cache key) but never its model. :class:`LazyBackend` answers ``model_id``,
``identity()``, ``max_context`` and ``info()`` from a :class:`BackendPlan` (computed
without importing torch or loading weights) and builds the real backend on first use
of anything else: ``generate``, ``score_choices``, ``count_tokens`` ...
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class BackendPlan:
    """What a backend will be, known before it is built.

    ``identity`` must equal the built backend's ``identity()`` (a test checks it for
    every planned backend): the runner's cache keys are made from it before the
    backend exists.
    """

    name: str
    model_id: str
    identity: dict[str, Any]
    supports_constraints: bool
    max_context: int | None
    info: dict[str, Any] = field(default_factory=dict)


class LazyBackend:
    """Stands in for a backend until a call needs it, then builds it once (``build()``)."""

    def __init__(self, plan: BackendPlan, build: Callable[[], Any], on_load: Callable[[], None] | None = None) -> None:
        self._plan = plan
        self._build = build
        self._on_load = on_load
        self._backend: Any = None

    @property
    def loaded(self) -> bool:
        """Whether the real backend has been built."""
        return self._backend is not None

    def load(self) -> Any:
        """The real backend, built on the first call."""
        if self._backend is None:
            if self._on_load is not None:
                self._on_load()
            self._backend = self._build()
        return self._backend

    @property
    def name(self) -> str:  # noqa: D102
        return self._plan.name

    @property
    def model_id(self) -> str:  # noqa: D102
        return self._plan.model_id if self._backend is None else str(self._backend.model_id)

    @property
    def supports_constraints(self) -> bool:  # noqa: D102
        return self._plan.supports_constraints

    @property
    def max_context(self) -> int | None:  # noqa: D102
        return self._plan.max_context if self._backend is None else self._backend.max_context

    def identity(self) -> dict[str, Any]:
        """The planned identity (equal to the built backend's)."""
        return dict(self._plan.identity)

    def info(self) -> dict[str, Any]:
        """The built backend's info; before it is built, the plan's, saying the model was never loaded."""
        if self._backend is not None:
            return dict(self._backend.info())
        return {**self._plan.info, "loaded": False,
                "note": "every call was answered from the cache; the model was not loaded"}

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("_"):
            raise AttributeError(attr)
        return getattr(self.load(), attr)
