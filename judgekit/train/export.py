"""Export a judge for other engines: a Hugging Face directory (vLLM, transformers) or a GGUF file (llama.cpp).

``judgekit export judgekit-135m --format hf -o DIR`` copies the merged model (the shipped
LoRA adapter folded into the embedded base, as :func:`~judgekit.core.models.resolve_model`
builds it) with its tokenizer and chat template. ``--format gguf`` writes one GGUF file
with the ``gguf`` library: the tokenizer, chat template and architecture metadata are
copied from the embedded model's own GGUF (written by llama.cpp's converter, so every key
llama.cpp reads is there and right), and the tensors are the merged weights, renamed with
``gguf``'s tensor map and with the query/key rows permuted the way llama.cpp's converter
does for Llama models (its rotary embedding pairs dimensions differently from
transformers). Only Llama-architecture models with an embedded-style GGUF template are
exported to GGUF; anything else is refused with a clear error.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from judgekit.core.errors import ConfigError
from judgekit.core.models import default_model_path, resolve_model

FORMATS = ("hf", "gguf")
GGUF_TYPES = ("f32", "f16", "q8_0")
EXPORT_MARKER = "judgekit_export.json"
_SKIP_KEYS = ("general.architecture", "general.file_type", "general.name", "general.quantization_version")


@dataclass(frozen=True)
class Exported:
    """What an export wrote: the path, its format, the model id it came from, its size."""

    path: Path
    format: str
    model_id: str
    bytes: int


def permute_rotary(weights: Any, n_head: int, n_head_kv: int | None = None) -> Any:
    """Reorder q/k projection rows from transformers' rotary layout to llama.cpp's (its converter's ``permute``)."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return (weights.reshape(n_head, 2, weights.shape[0] // n_head // 2, *weights.shape[1:])
            .swapaxes(1, 2)
            .reshape(weights.shape))


def export_model(model: str, fmt: str, out: Path, gguf_type: str = "f16") -> Exported:
    """Export ``model`` (a judgekit name, GGUF or HF directory) as ``fmt`` to ``out``.

    ``hf``: ``out`` is a new directory. ``gguf``: ``out`` is a ``.gguf`` file, or a
    directory that gets ``<name>.<gguf_type>.gguf``. Raises :class:`ConfigError` for an
    unknown format/type or an ``out`` that already holds an export of something else.
    """
    if fmt not in FORMATS:
        raise ConfigError(f"--format {fmt!r}: choose {' or '.join(FORMATS)}")
    if gguf_type not in GGUF_TYPES:
        raise ConfigError(f"--gguf-type {gguf_type!r}: choose from {', '.join(GGUF_TYPES)}")
    resolved = resolve_model(model)
    name = model if not Path(model).exists() else Path(model).stem
    if fmt == "hf":
        return _export_hf(resolved.path, resolved.model_id, out)
    target = out / f"{name}.{gguf_type}.gguf" if out.is_dir() or not out.suffix else out
    return _export_gguf(resolved.path, resolved.model_id, name, target, gguf_type)


def _export_hf(src: Path, model_id: str, out: Path) -> Exported:
    if out.exists() and any(out.iterdir()):
        raise ConfigError(f"{out}: exists and is not empty (choose a new directory for the export)")
    tokenizer_config = src / "tokenizer_config.json"
    has_template = (src / "chat_template.jinja").is_file() or (
        tokenizer_config.is_file() and "chat_template" in json.loads(tokenizer_config.read_text())
    )
    if not has_template:
        raise ConfigError(f"{src}: the model has no chat template to export")
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(src, tmp, ignore=shutil.ignore_patterns("judgekit_source.json", ".*"))
    (tmp / EXPORT_MARKER).write_text(json.dumps({"model_id": model_id, "format": "hf"}) + "\n")
    if out.exists():
        out.rmdir()
    tmp.rename(out)
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    return Exported(out, "hf", model_id, size)


def _hf_tensors(src: Path) -> Iterator[tuple[str, Any]]:
    """``(name, float32 numpy array)`` for every tensor in the directory's safetensors files."""
    from safetensors import safe_open

    files = sorted(src.glob("*.safetensors"))
    if not files:
        raise ConfigError(f"{src}: no .safetensors weights to export")
    for f in files:
        with safe_open(str(f), framework="pt") as st:
            for key in st.keys():  # noqa: SIM118 - safe_open has keys(), not iteration
                yield key, st.get_tensor(key).float().numpy()


def _export_gguf(src: Path, model_id: str, name: str, target: Path, gguf_type: str) -> Exported:
    import gguf
    import numpy as np

    config = json.loads((src / "config.json").read_text())
    if config.get("model_type") != "llama":
        raise ConfigError(f"{src}: GGUF export covers Llama-architecture models, not {config.get('model_type')!r}")
    template = gguf.GGUFReader(str(default_model_path()))
    arch = str(template.fields["general.architecture"].contents())
    n_layers = int(config["num_hidden_layers"])
    if arch != "llama" or int(template.fields["llama.block_count"].contents()) != n_layers:
        raise ConfigError(f"{src}: its shape does not match the embedded GGUF's metadata (block count, architecture)")
    expected = {t.name: tuple(int(x) for x in reversed(t.shape.tolist())) for t in template.tensors}
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, n_layers)
    qtype = {"f32": gguf.GGMLQuantizationType.F32, "f16": gguf.GGMLQuantizationType.F16,
             "q8_0": gguf.GGMLQuantizationType.Q8_0}[gguf_type]
    file_type = {"f32": gguf.LlamaFileType.ALL_F32, "f16": gguf.LlamaFileType.MOSTLY_F16,
                 "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0}[gguf_type]

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    writer = gguf.GGUFWriter(str(tmp), arch=arch)
    for field in template.fields.values():
        if field.name.startswith("GGUF.") or field.name in _SKIP_KEYS:
            continue
        sub = field.types[-1] if field.types[0] == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, field.contents(), field.types[0], sub_type=sub)
    writer.add_name(name)
    writer.add_file_type(int(file_type))
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)

    seen: set[str] = set()
    n_head, n_kv = int(config["num_attention_heads"]), int(config.get("num_key_value_heads") or 0) or None
    for hf_name, data in _hf_tensors(src):
        if hf_name == "lm_head.weight" and config.get("tie_word_embeddings", False):
            continue
        gname = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if gname is None:
            raise ConfigError(f"{src}: tensor {hf_name} has no GGUF name")
        if hf_name.endswith("q_proj.weight"):
            data = permute_rotary(data, n_head, n_head)
        elif hf_name.endswith("k_proj.weight"):
            data = permute_rotary(data, n_head, n_kv)
        if gname in expected and tuple(data.shape) != expected[gname]:
            raise ConfigError(f"{src}: tensor {hf_name} has shape {data.shape}, the GGUF expects {expected[gname]}")
        seen.add(gname)
        if data.ndim == 1 or qtype == gguf.GGMLQuantizationType.F32:
            writer.add_tensor(gname, data.astype(np.float32))
        elif qtype == gguf.GGMLQuantizationType.F16:
            writer.add_tensor(gname, data.astype(np.float16))
        else:
            writer.add_tensor(gname, gguf.quants.quantize(data, qtype), raw_shape=data.shape, raw_dtype=qtype)
    missing = sorted(set(expected) - seen)
    if missing:
        raise ConfigError(f"{src}: no weights for the GGUF tensors {', '.join(missing[:5])}")
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    tmp.replace(target)
    return Exported(target, "gguf", model_id, target.stat().st_size)
