"""judgekit: generative judges and reasoning reward models.

``import judgekit`` is cheap: it imports no torch, transformers or vLLM. Backends
are loaded lazily by name through :func:`judgekit.backends.get_backend`, and the
Python API (:class:`Judge`, :class:`Results`, from :mod:`judgekit.api`) is imported on
first use of the name::

    import judgekit

    j = judgekit.Judge()
    j.compare("What is 2+2?", "4", "5").verdict
"""

import importlib
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:  # for type checkers and the docs; at run time __getattr__ imports them on first use
    from judgekit.api import Judge, Results

__version__ = "0.1.0"

#: Names served lazily from a submodule (importing it loads the judging stack, not a model).
_LAZY = {"Judge": "judgekit.api", "Results": "judgekit.api", "ConfigError": "judgekit.core.errors"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'judgekit' has no attribute {name!r}")

__all__ = [
    "ConfigError",
    "Constraint",
    "Generation",
    "GenerationParams",
    "Judge",
    "Judgment",
    "Message",
    "ParseFailure",
    "Prompt",
    "Results",
    "Sample",
    "Turn",
    "Verdict",
    "__version__",
]
