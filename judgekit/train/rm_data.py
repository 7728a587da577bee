"""Preference pairs for ``judgekit train rm``: which rows, which side of the split, which label noise.

Pure functions over :class:`PreferencePair` (no torch). The pairs come from the
shared pairwise sources of the judgekit-135m recipe (LLMBar, HHH, PandaLM; ties
dropped), each on its TRAINING side only: every id that ``training/split.json``
holds out (read with :func:`judgekit.train.recipe.split.read_split`) and every id
of any other listed side (``dev_ids`` and the like, when a split has them) is
excluded. RewardBench v1 is not among the sources and is never read.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from judgekit.core.data import load_samples
from judgekit.core.types import Sample
from judgekit.train.recipe.split import SOURCES, read_split

PAIR_SOURCES = tuple(name for name, s in SOURCES.items() if s.task == "pairwise")
DEFAULT_SPLIT = Path("training/split.json")


def shared_data_dir(given: Path | None = None) -> Path:
    """``given``, else ``$JUDGEKIT_SHARED_DATA``, else ``../shared/data`` (the folder the sources live in)."""
    return given or Path(os.environ.get("JUDGEKIT_SHARED_DATA", "../shared/data"))


def data_dir_problem(data_dir: Path, sources: Iterable[str] = PAIR_SOURCES) -> str | None:
    """Why ``data_dir`` is not a shared data folder holding ``sources`` (one line), or None."""
    if not data_dir.exists():
        return f"{data_dir}: the directory does not exist"
    if not data_dir.is_dir():
        return f"{data_dir}: not a directory"
    missing = [SOURCES[s].relpath for s in sources if s in SOURCES and not (data_dir / SOURCES[s].relpath).is_file()]
    if missing:
        return f"{data_dir}: not the shared data folder (it has no {', '.join(missing)})"
    return None


@dataclass(frozen=True)
class PreferencePair:
    """One (prompt, chosen, rejected) with where it came from; ``flipped`` marks injected noise."""

    id: str
    source: str
    prompt: str
    chosen: str
    rejected: str
    flipped: bool = False
    chosen_first: bool = True  # where the loader displayed the chosen response (for the position baseline)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view."""
        return {"id": self.id, "source": self.source, "prompt": self.prompt, "chosen": self.chosen,
                "rejected": self.rejected, "flipped": self.flipped, "chosen_first": self.chosen_first}

    @property
    def chosen_longer(self) -> bool:
        """Whether the preferred response is the longer one (in characters)."""
        return len(self.chosen) > len(self.rejected)


def pair_from_sample(sample: Sample, source: str) -> PreferencePair | None:
    """A labelled two-response sample as a pair; ties and unlabelled rows give None."""
    if len(sample.responses) != 2 or sample.label not in ("A", "B"):
        return None
    a, b = sample.responses
    chosen, rejected = (a, b) if sample.label == "A" else (b, a)
    return PreferencePair(id=sample.id, source=source, prompt=sample.prompt, chosen=chosen, rejected=rejected,
                          chosen_first=sample.label == "A")


def split_sides(split_file: Path) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(held-out ids, every id of any other side such as dev) per source, from a split file."""
    held = read_split(split_file)
    data = json.loads(split_file.read_text(encoding="utf-8"))
    other: dict[str, set[str]] = {}
    for name, entry in data.get("sources", {}).items():
        for key, ids in entry.items():
            if key.endswith("_ids") and key != "heldout_ids" and isinstance(ids, list):
                other.setdefault(name, set()).update(str(i) for i in ids)
    return held, other


def load_pairs(data_dir: Path, split_file: Path, side: str,
               sources: Iterable[str] = PAIR_SOURCES) -> list[PreferencePair]:
    """Pairs of one side: ``train`` (neither held out nor on any other side) or ``heldout``."""
    if side not in ("train", "heldout"):
        raise ValueError(f"side {side!r}: choose train or heldout")
    held, other = split_sides(split_file)
    pairs: list[PreferencePair] = []
    for name in sources:
        if name not in PAIR_SOURCES:
            raise ValueError(f"source {name!r}: choose from {', '.join(PAIR_SOURCES)}")
        source = SOURCES[name]
        kept_out = held.get(name, set()) | other.get(name, set())
        for sample in load_samples(data_dir / source.relpath, task="pairwise"):
            in_side = sample.id in held.get(name, set()) if side == "heldout" else sample.id not in kept_out
            pair = pair_from_sample(sample, name) if in_side else None
            if pair is not None:
                pairs.append(pair)
    return pairs


def flip_labels(pairs: Sequence[PreferencePair], rate: float, seed: int) -> list[PreferencePair]:
    """Swap chosen and rejected in a seeded ``round(rate * n)`` of the pairs (injected label noise)."""
    if not 0 <= rate < 1:
        raise ValueError(f"noise rate {rate}: must be in [0, 1)")
    chosen = set(random.Random(seed).sample(range(len(pairs)), round(rate * len(pairs))))
    return [replace(p, chosen=p.rejected, rejected=p.chosen, flipped=True) if i in chosen else p
            for i, p in enumerate(pairs)]


def length_balance(pairs: Sequence[PreferencePair], seed: int) -> list[PreferencePair]:
    """Keep as many chosen-longer as chosen-shorter pairs (seeded subsample of the larger group; equal lengths kept)."""
    longer = [p for p in pairs if len(p.chosen) > len(p.rejected)]
    shorter = [p for p in pairs if len(p.chosen) < len(p.rejected)]
    n = min(len(longer), len(shorter))
    rng = random.Random(seed)
    keep = {p.id for p in rng.sample(longer, n)} | {p.id for p in rng.sample(shorter, n)}
    return [p for p in pairs if p.id in keep or len(p.chosen) == len(p.rejected)]


def subsample(pairs: Sequence[PreferencePair], n: int | None, seed: int) -> list[PreferencePair]:
    """A seeded subset of ``n`` pairs in their original order (all when ``n`` is None or larger)."""
    if n is None or n >= len(pairs):
        return list(pairs)
    keep = set(random.Random(seed).sample(range(len(pairs)), n))
    return [p for i, p in enumerate(pairs) if i in keep]


def halves(pairs: Sequence[PreferencePair], seed: int) -> tuple[list[PreferencePair], list[PreferencePair]]:
    """A seeded split into two disjoint halves (for collaborative filtering)."""
    order = list(range(len(pairs)))
    random.Random(seed).shuffle(order)
    first = set(order[: len(order) // 2])
    return [p for i, p in enumerate(pairs) if i in first], [p for i, p in enumerate(pairs) if i not in first]


def peer_filter(pairs: Sequence[PreferencePair], peer_margins: Sequence[float], drop: float) -> list[PreferencePair]:
    """Drop the ``drop`` fraction of pairs the peer RM finds least plausible (lowest r_chosen - r_rejected)."""
    if not 0 <= drop < 1:
        raise ValueError(f"drop fraction {drop}: must be in [0, 1)")
    order = sorted(range(len(pairs)), key=lambda i: peer_margins[i])
    dropped = set(order[: round(drop * len(pairs))])
    return [p for i, p in enumerate(pairs) if i not in dropped]
