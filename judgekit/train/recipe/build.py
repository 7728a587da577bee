"""Training data for the recipe: per-source train/held-out files, augmentations, SFT rows.

:func:`write_source_files` applies the split (held-out rows go to ``heldout_<src>.jsonl``
in their original schema, for evaluation only) and writes the training side as
normalised rows (``prompt/response_a/response_b/label`` or
``question/response/reference/label``), with Master-RM rows mixed into the
verification data and, when asked, Crome counterfactuals. Every row carries
``source`` and ``augment`` tags. :func:`sft_records` renders the rows with
judgekit's own templates in both presentation orders (order augmentation), half
as logit-mode targets and half as generative ones, and :func:`check_files` proves
that no held-out id reached any of them.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from judgekit.core.data import Columns, load_samples, read_rows
from judgekit.core.formats import PAIRWISE, VERIFY, Format, swap_pairwise
from judgekit.core.types import Prompt, Sample
from judgekit.probe.augment import master_rm_rows, training_openers
from judgekit.protocols.base import JudgeConfig, get_protocol
from judgekit.train.distill import write_jsonl
from judgekit.train.recipe.crome import crome_pairwise, crome_verify
from judgekit.train.recipe.split import SOURCES, Source, assert_disjoint, read_never_train
from judgekit.train.recipe.traces import rule_reasoning, target, verdict_line

VERIFY_COLUMNS = Columns("question", ("response",), "label", "reference", id="id")


@dataclass(frozen=True)
class DataOptions:
    """What goes into the training files."""

    max_items: Mapping[str, int]
    max_chars: int = 2000
    master_rm_ratio: float = 0.2
    crome: bool = False
    seed: int = 0


def _length(s: Sample) -> int:
    return len(s.prompt) + sum(len(r) for r in s.responses)


def normalised_row(s: Sample, source: str) -> dict[str, Any]:
    """A sample as a row every judgekit command reads back (pairwise or verification schema), with its tags."""
    tags = {"source": source, "augment": s.metadata.get("augment", {"kind": "original", "source_id": s.id})}
    if len(s.responses) == 2:
        return {"id": s.id, "prompt": s.prompt, "response_a": s.responses[0], "response_b": s.responses[1],
                "label": s.label, **tags}
    return {"id": s.id, "question": s.prompt, "response": s.responses[0], "reference": s.reference,
            "label": s.label == "correct", "candidate_answer": s.metadata.get("candidate_answer"), **tags}


def training_samples(source: Source, data_dir: Path, heldout: set[str], opts: DataOptions) -> list[Sample]:
    """The source's non-held-out samples within ``max_chars``, seeded order, at most ``max_items``."""
    samples = load_samples(data_dir / source.relpath, source.task)  # type: ignore[arg-type]
    keep = [s for s in samples if s.id not in heldout and s.label is not None and _length(s) <= opts.max_chars]
    random.Random(f"{opts.seed}:{source.name}").shuffle(keep)
    return keep[: opts.max_items.get(source.name, len(keep))]


def write_source_files(
    data_dir: Path, heldout: Mapping[str, set[str]], out: Path, opts: DataOptions,
    test: Mapping[str, set[str]] | None = None,
) -> dict[str, Any]:
    """Write ``train_<src>.jsonl`` and ``heldout_<src>.jsonl`` (dev) for every source; returns counts.

    ``test`` ids (the split's test side) are neither trained on nor written anywhere.
    """
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {}
    for name, held in heldout.items():
        source = SOURCES[name]
        rows = [row for _, row in read_rows(data_dir / source.relpath)]
        write_jsonl(out / f"heldout_{name}.jsonl", (r for r in rows if source.item_id(r) in held))
        samples = training_samples(source, data_dir, held | (test or {}).get(name, set()), opts)
        extra: list[Sample] = []
        if opts.crome:
            extra = (crome_verify(samples, opts.seed) if source.task == "verify"
                     else crome_pairwise(samples, opts.seed))
        train = [normalised_row(s, name) for s in [*samples, *extra]]
        if source.task == "verify" and opts.master_rm_ratio > 0:
            train, _ = master_rm_rows(train, VERIFY_COLUMNS, opts.master_rm_ratio, seed=opts.seed,
                                      keys=training_openers())
            for row in train:
                if "master_rm" in row:
                    row["augment"] = {"kind": f"master-rm:{row['master_rm']['kind']}",
                                      "source_id": row["master_rm"]["source_id"]}
        never = {k: v | (test or {}).get(k, set()) for k, v in heldout.items()}
        assert_disjoint(never, (r["id"] for r in train), f"train_{name}.jsonl")
        write_jsonl(out / f"train_{name}.jsonl", train)
        report[name] = {"heldout": len(held), "train": len(train),
                        "kinds": dict(Counter(str(r["augment"]["kind"]) for r in train))}
    return report


def _mode(seed: int, key: str, logit_share: float) -> str:
    h = int(hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "logit" if h < logit_share else "generative"


def _record(item: Sample, source: str, order: str, mode: str, prompt: Prompt, completion: str) -> dict[str, Any]:
    return {"id": f"{item.id}:{order}:{mode}", "item_id": item.id, "source": source, "order": order, "mode": mode,
            "augment": item.metadata.get("augment", {"kind": "original"}),
            "template": prompt.template, "template_hash": prompt.template_hash,
            "prompt": [{"role": m.role, "content": m.content} for m in prompt.messages],
            "completion": [{"role": "assistant", "content": completion}]}


def sft_records(
    files: Iterable[tuple[str, Path]], trace: str = "rule", seed: int = 0, logit_share: float = 0.5,
    traces: Mapping[tuple[str, str], str] | None = None,
) -> list[dict[str, Any]]:
    """Prompt/completion records: every pairwise item in both orders; each prompt as a logit or generative target.

    ``traces`` ((item id, order) -> trace) replaces the rule traces for generative
    targets (rationalized traces); items without one fall back to the rule trace.
    """
    records: list[dict[str, Any]] = []
    for source, path in files:
        task = SOURCES[source].task
        fmt: Format = VERIFY if task == "verify" else PAIRWISE
        protos = {mode: get_protocol(task, JudgeConfig(method=mode)) for mode in ("logit", "generative")}  # type: ignore[arg-type]
        for item in load_samples(path, task):  # type: ignore[arg-type]
            orders = ("AB", "BA") if task == "pairwise" else ("AB",)
            for order in orders:
                label = swap_pairwise(item.label) if order == "BA" else item.label
                if label is None:
                    continue
                mode = _mode(seed, f"{item.id}:{order}", logit_share)
                proto = protos[mode]
                prompt = proto.prompt(item, order == "BA") if task == "pairwise" else proto.prompt(item)  # type: ignore[attr-defined]
                if mode == "logit":  # what logit mode reads: the prefix, then the choice
                    completion = verdict_line(fmt, label)
                else:
                    given = (traces or {}).get((item.id, order))
                    completion = given or target(fmt, label, rule_reasoning(fmt, item, label, trace))
                records.append(_record(item, source, order, mode, prompt, completion))
    random.Random(seed).shuffle(records)
    return records


def check_files(split_file: Path, paths: Sequence[Path]) -> int:
    """Raise if a dev or test id is in any of ``paths`` (JSONL with ``id``/``item_id``); returns rows checked."""
    heldout = read_never_train(split_file)
    n = 0
    for path in paths:
        with path.open(encoding="utf-8") as fh:
            ids = (str(row.get("item_id", row.get("id"))) for row in map(json.loads, fh) if row)
            n += assert_disjoint(heldout, ids, str(path))
    return n
