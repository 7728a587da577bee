"""The meta reward model: a scalar classifier that rates sampled judgments.

DeepSeek-GRM samples k judgments, lets a *meta-RM* rate each one, and votes among the
best ``k_meta``. Here the meta-RM is a sequence-classification head (one logit) on a
causal LM (the embedded SmolLM2-135M by default, or any local Hugging Face model),
trained with binary cross-entropy on rows ``(judge prompt, sampled judgment, was its
verdict right?)`` produced by running the judge with k samples on labeled data.

Flow: :func:`rows_from_judgments` -> :func:`write_rows` / :func:`read_rows` ->
:func:`train_meta_rm` (held-out split by item, metrics.json) -> :func:`load_meta_rm`
-> :meth:`MetaRM.score`. Torch and transformers are imported only when training or
scoring.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from judgekit.core.data import DataError
from judgekit.core.data import read_rows as read_data_rows
from judgekit.core.models import resolve_model
from judgekit.core.types import Judgment, Sample, Verdict
from judgekit.scaling.samples import order_samples

FORMAT_VERSION = 1
CONFIG_FILE = "meta_rm.json"
METRICS_FILE = "metrics.json"
TRAIN_PROBE = 64  # training rows re-scored after training (a fit check, not the whole set)


@dataclass(frozen=True)
class MetaRow:
    """One training row: a sampled judgment and whether its verdict matched the label."""

    item_id: str
    order: str
    sample_index: int
    prompt: str
    judgment: str
    verdict: str | None
    expected: str
    correct: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view (one JSONL line)."""
        return asdict(self)


def rows_from_judgments(samples: Sequence[Sample], judgments: Sequence[Judgment]) -> list[MetaRow]:
    """Training rows from judged items: every sample of every order of every labeled item.

    A sample whose verdict could not be parsed is a row with ``correct=False`` (an
    unreadable judgment is not a good one). Unlabeled and skipped items give no rows.
    """
    labels = {s.id: s.label for s in samples}
    rows: list[MetaRow] = []
    for j in judgments:
        label = labels.get(j.sample_id)
        if label is None:
            continue
        for group in order_samples(j, label):
            assert group.expected is not None
            for i, (text, parsed) in enumerate(zip(group.texts, group.parsed, strict=True)):
                verdict = parsed.label if isinstance(parsed, Verdict) else None
                rows.append(
                    MetaRow(
                        item_id=j.sample_id, order=group.order, sample_index=i, prompt=group.prompt,
                        judgment=text, verdict=verdict, expected=group.expected,
                        correct=verdict is not None and verdict == group.expected,
                    )
                )
    return rows


def write_rows(path: Path, rows: Sequence[MetaRow]) -> None:
    """Write rows as JSONL."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row.to_dict(), ensure_ascii=False) + "\n")


_ROW_FIELDS = ("item_id", "order", "sample_index", "prompt", "judgment", "verdict", "expected", "correct")


def read_rows(path: Path) -> list[MetaRow]:
    """Read rows written by :func:`write_rows`; bad lines raise DataError with the line."""
    rows = []
    for lineno, d in read_data_rows(path):
        missing = [f for f in _ROW_FIELDS if f not in d]
        if missing:
            raise DataError(path, "missing field (is this a `judgekit meta-rm data` file?)", lineno, missing[0])
        if not isinstance(d["correct"], bool):
            raise DataError(path, "expected true/false", line=lineno, field="correct")
        rows.append(MetaRow(**{f: d[f] for f in _ROW_FIELDS}))
    if not rows:
        raise DataError(path, "no rows found")
    return rows


def meta_input(prompt: str, judgment: str) -> str:
    """Build the text the meta-RM reads: the judge prompt, then the sampled judgment."""
    return f"{prompt}\n\n[sampled judgment]\n{judgment}"


def split_rows(rows: Sequence[MetaRow], eval_fraction: float, seed: int) -> tuple[list[MetaRow], list[MetaRow]]:
    """Held-out split by item (all samples of an item land on the same side), seeded."""
    items = sorted({r.item_id for r in rows})
    random.Random(seed).shuffle(items)
    n_eval = min(len(items) - 1, math.ceil(eval_fraction * len(items))) if eval_fraction > 0 else 0
    held = set(items[: max(0, n_eval)])
    return [r for r in rows if r.item_id not in held], [r for r in rows if r.item_id in held]


def binary_metrics(logits: Sequence[float], labels: Sequence[bool]) -> dict[str, float | int | None]:
    """BCE, accuracy at logit 0, ROC AUC (ties count half) and the positive rate."""
    n = len(logits)
    if n == 0:
        return {"n": 0, "bce": None, "accuracy": None, "auc": None, "positive_rate": None}
    bce = 0.0
    for z, y in zip(logits, labels, strict=True):
        # log(1 + exp(-|z|)) + max(z, 0) - z*y, the stable form of BCE with logits
        bce += max(z, 0.0) - z * float(y) + math.log1p(math.exp(-abs(z)))
    acc = sum(1 for z, y in zip(logits, labels, strict=True) if (z > 0) == y) / n
    pos = [z for z, y in zip(logits, labels, strict=True) if y]
    neg = [z for z, y in zip(logits, labels, strict=True) if not y]
    auc = None
    if pos and neg:
        wins = sum(1.0 if p > q else 0.5 if p == q else 0.0 for p in pos for q in neg)
        auc = wins / (len(pos) * len(neg))
    return {"n": n, "bce": bce / n, "accuracy": acc, "auc": auc, "positive_rate": len(pos) / n}


@dataclass(frozen=True)
class TrainConfig:
    """Meta-RM training settings (defaults suit a CPU and a 135M base)."""

    base: str | None = None
    steps: int = 60
    lr: float = 2e-5
    batch_size: int = 4
    max_length: int = 512
    eval_fraction: float = 0.2
    seed: int = 0
    weight_decay: float = 0.0


def _load_base(base: str | None) -> tuple[Any, Any, str]:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    resolved = resolve_model(base)
    tokenizer = AutoTokenizer.from_pretrained(str(resolved.path))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    model = AutoModelForSequenceClassification.from_pretrained(str(resolved.path), num_labels=1)
    model.config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer, resolved.model_id


def _encode(tokenizer: Any, texts: Sequence[str], max_length: int) -> Any:
    tokenizer.truncation_side = "left"  # keep the judgment (the end) when the prompt is long
    return tokenizer(list(texts), padding=True, truncation=True, max_length=max_length, return_tensors="pt")


def _logits(model: Any, tokenizer: Any, texts: Sequence[str], max_length: int, batch_size: int = 8) -> list[float]:
    import torch

    out: list[float] = []
    with torch.no_grad():
        for start in range(0, len(texts), batch_size):
            enc = _encode(tokenizer, texts[start : start + batch_size], max_length)
            out.extend(float(x) for x in model(**enc).logits[:, 0].tolist())
    return out


def train_meta_rm(
    rows: Sequence[MetaRow],
    out_dir: Path,
    config: TrainConfig = TrainConfig(),  # noqa: B008 - frozen dataclass, never mutated
    on_step: Callable[[int, int, float], None] | None = None,
) -> dict[str, Any]:
    """Train the meta-RM with BCE on ``rows``; save model, tokenizer and metrics.json.

    Rows are split by item (:func:`split_rows`); the returned metrics hold the
    held-out BCE / accuracy / AUC before and after training, and the same on up to
    ``TRAIN_PROBE`` training rows after training. ``on_step(step, total,
    loss)`` reports progress. The whole run is seeded.
    """
    import torch

    if not rows:
        raise ValueError("no training rows")
    torch.manual_seed(config.seed)
    train, held = split_rows(rows, config.eval_fraction, config.seed)
    model, tokenizer, base_id = _load_base(config.base)
    texts = [meta_input(r.prompt, r.judgment) for r in train]
    targets = [float(r.correct) for r in train]
    held_texts = [meta_input(r.prompt, r.judgment) for r in held]
    held_labels = [r.correct for r in held]
    model.eval()
    before = binary_metrics(_logits(model, tokenizer, held_texts, config.max_length), held_labels)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    rng = random.Random(config.seed)
    order: list[int] = []
    losses: list[float] = []
    model.train()
    for step in range(1, config.steps + 1):
        if len(order) < config.batch_size:
            fresh = list(range(len(train)))
            rng.shuffle(fresh)
            order.extend(fresh)
        batch, order = order[: config.batch_size], order[config.batch_size :]
        enc = _encode(tokenizer, [texts[i] for i in batch], config.max_length)
        logits = model(**enc).logits[:, 0]
        loss = loss_fn(logits, torch.tensor([targets[i] for i in batch], dtype=logits.dtype))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
        if on_step:
            on_step(step, config.steps, losses[-1])
    model.eval()
    after = binary_metrics(_logits(model, tokenizer, held_texts, config.max_length), held_labels)
    probe = sorted(random.Random(config.seed).sample(range(len(train)), min(len(train), TRAIN_PROBE)))
    train_after = binary_metrics(_logits(model, tokenizer, [texts[i] for i in probe], config.max_length),
                                 [train[i].correct for i in probe])
    metrics = {
        "base": config.base or "embedded SmolLM2-135M-Instruct",
        "base_model_id": base_id,
        "config": asdict(config),
        "rows": len(rows),
        "train_rows": len(train),
        "eval_rows": len(held),
        "train_items": len({r.item_id for r in train}),
        "eval_items": len({r.item_id for r in held}),
        "train_loss_first": losses[0] if losses else None,
        "train_loss_last": losses[-1] if losses else None,
        "train": train_after,
        "eval_before": before,
        "eval": after,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out_dir))
    tokenizer.save_pretrained(str(out_dir))
    settings = {"format_version": FORMAT_VERSION, "max_length": config.max_length, "base_model_id": base_id,
                "item_ids": sorted({r.item_id for r in rows})}
    (out_dir / CONFIG_FILE).write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    (out_dir / METRICS_FILE).write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    return metrics


def training_overlap(path: Path, ids: Sequence[str]) -> list[str] | None:
    """Ids among ``ids`` the meta-RM at ``path`` was trained on; None when it did not record them."""
    settings_file = path / CONFIG_FILE
    if not settings_file.is_file():
        return None
    trained = json.loads(settings_file.read_text(encoding="utf-8")).get("item_ids")
    if trained is None:
        return None
    seen = set(map(str, trained))
    return [i for i in ids if i in seen]


def overlap_warning(path: Path, ids: Sequence[str]) -> str | None:
    """A warning when items being judged are items the meta-RM was trained on (or it cannot tell)."""
    overlap = training_overlap(path, ids)
    if overlap is None:
        return f"meta-RM {path} records no training item ids, so overlap with these items cannot be checked"
    if not overlap:
        return None
    return (f"{len(overlap)} of {len(ids)} items were in the meta-RM's training data ({path}; e.g. "
            f"{', '.join(overlap[:3])}): its scores on them are not a held-out measure")


class MetaRM:
    """A trained meta-RM loaded from a directory written by :func:`train_meta_rm`."""

    def __init__(self, path: Path | str, batch_size: int = 8) -> None:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self.path = Path(path)
        settings_file = self.path / CONFIG_FILE
        if not settings_file.is_file():
            raise FileNotFoundError(
                f"{self.path} is not a trained meta-RM (no {CONFIG_FILE}); see `judgekit meta-rm train`"
            )
        settings = json.loads(settings_file.read_text(encoding="utf-8"))
        self.max_length = int(settings["max_length"])
        self.batch_size = batch_size
        self.tokenizer = AutoTokenizer.from_pretrained(str(self.path))
        self.model = AutoModelForSequenceClassification.from_pretrained(str(self.path))
        self.model.eval()
        self._memo: dict[tuple[str, str], float] = {}

    def score(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """One logit per ``(judge prompt, sampled judgment)``: higher = more likely right."""
        todo = [p for p in dict.fromkeys(pairs) if p not in self._memo]
        if todo:
            logits = _logits(self.model, self.tokenizer, [meta_input(p, j) for p, j in todo], self.max_length,
                             self.batch_size)
            self._memo.update(zip(todo, logits, strict=True))
        return [self._memo[p] for p in pairs]

    def metrics(self) -> dict[str, Any]:
        """Return the metrics.json saved at training time."""
        path = self.path / METRICS_FILE
        return dict(json.loads(path.read_text(encoding="utf-8"))) if path.is_file() else {}


@lru_cache(maxsize=4)
def load_meta_rm(path: str) -> MetaRM:
    """Load (once per path) a trained meta-RM."""
    return MetaRM(path)
