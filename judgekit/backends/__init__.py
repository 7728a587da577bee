"""Engines behind one batched interface, imported lazily by name."""

from judgekit.core.backend import (
    Backend,
    PartialGenerationError,
    PromptTooLongError,
    backend_names,
    get_backend,
    register_backend,
)

__all__ = [
    "Backend",
    "PartialGenerationError",
    "PromptTooLongError",
    "backend_names",
    "get_backend",
    "register_backend",
]
