"""judgekit: generative judges and reasoning reward models.

``import judgekit`` is cheap: it imports no torch, transformers or vLLM. Backends
are loaded lazily by name through :func:`judgekit.backends.get_backend`.
"""

from judgekit.core.types import (
    Constraint,
    Generation,
    GenerationParams,
    Judgment,
    Message,
    ParseFailure,
    Prompt,
    Sample,
    Turn,
    Verdict,
)

__version__ = "0.1.0"

__all__ = [
    "Constraint",
    "Generation",
    "GenerationParams",
    "Judgment",
    "Message",
    "ParseFailure",
    "Prompt",
    "Sample",
    "Turn",
    "Verdict",
    "__version__",
]
