"""Backend plans: what a backend will be, computed without building it.

Imports no torch or transformers, so a run whose every call is cached answers from
the cache in milliseconds (see :mod:`judgekit.core.lazy`).
"""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path
from typing import Any

from judgekit.core.lazy import BackendPlan
from judgekit.core.models import resolve_model
from judgekit.core.special_tokens import POLICY


def _version(pkg: str) -> str | None:
    try:
        return importlib.metadata.version(pkg)
    except importlib.metadata.PackageNotFoundError:
        return None


def transformers_plan(
    model: str | None = None,
    device: str = "cpu",
    dtype: str = "float32",
    max_context: int | None = None,
    cache_dir: Path | None = None,
    **_settings: Any,
) -> BackendPlan:
    """The plan of :class:`judgekit.backends.transformers.TransformersBackend` with these arguments.

    Resolving the model may convert a GGUF or merge an adapter once (as building the
    backend would); it loads no weights into memory. ``max_context`` is the argument,
    else the model config's ``max_position_embeddings``, as the backend computes it.
    """
    resolved = resolve_model(model, Path(cache_dir) if cache_dir else None)
    config = json.loads((resolved.path / "config.json").read_text())
    limit = config.get("max_position_embeddings")
    return BackendPlan(
        name="transformers",
        model_id=resolved.model_id,
        identity={"backend": "transformers", "dtype": dtype, "device": device, "data_special_tokens": POLICY},
        supports_constraints=True,
        max_context=max_context or (int(limit) if limit else None),
        info={"backend": "transformers", "model_id": resolved.model_id, "model_path": str(resolved.path),
              "dtype": dtype, "device": device, "data_special_tokens": POLICY,
              "versions": {p: _version(p) for p in ("torch", "transformers", "outlines", "outlines-core")}},
    )
