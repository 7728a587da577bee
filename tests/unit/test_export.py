"""judgekit export: the pure parts (the real exports run in tests/integration/test_export_engines.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from judgekit.core.errors import ConfigError
from judgekit.train.export import export_model, permute_rotary


def test_permute_rotary_interleaves_the_two_rotary_halves_of_each_head() -> None:
    # one head of 4 rows: transformers keeps rotary pairs as (0, 2), (1, 3); llama.cpp wants them adjacent
    w = np.arange(8, dtype=np.float32).reshape(4, 2)
    assert permute_rotary(w, 1).tolist() == [[0, 1], [4, 5], [2, 3], [6, 7]]
    two_heads = np.arange(16, dtype=np.float32).reshape(8, 2)
    out = permute_rotary(two_heads, 2)
    assert out[:4].tolist() == permute_rotary(two_heads[:4], 1).tolist()  # heads are permuted independently
    assert out[4:].tolist() == permute_rotary(two_heads[4:], 1).tolist()
    # grouped-query attention: keys are permuted per key/value head
    assert permute_rotary(two_heads, 6, 2).tolist() == out.tolist()


@pytest.mark.parametrize(("fmt", "gguf_type", "message"), [("onnx", "f16", "--format 'onnx'"),
                                                          ("gguf", "q4", "--gguf-type 'q4'")])
def test_bad_format_or_type_is_a_config_error(tmp_path: Path, fmt: str, gguf_type: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        export_model("judgekit-135m", fmt, tmp_path / "out", gguf_type)
