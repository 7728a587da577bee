"""Held-out items for engine comparisons of the trained judge (never its training data)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from judgekit.core.data import load_samples
from judgekit.train.recipe.split import read_split

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("JUDGEKIT_SHARED_DATA", ROOT.parent / "shared" / "data")) / "llmbar" / "llmbar.jsonl"


def held_out_pairs(path: Path, n: int = 16) -> Path:
    """The ``n`` shortest held-out LLMBar pairs (training/split.json) as a JSONL file at ``path``."""
    held = read_split(ROOT / "training" / "split.json")["llmbar"]
    rows = [s for s in load_samples(DATA, "pairwise") if s.id in held]
    rows = sorted(rows, key=lambda s: (len(s.prompt) + sum(map(len, s.responses)), s.id))[:n]
    assert len(rows) == n
    path.write_text("".join(json.dumps({"id": s.id, "prompt": s.prompt, "response_a": s.responses[0],
                                        "response_b": s.responses[1], "label": s.label}) + "\n" for s in rows))
    return path
