"""SFT rows for the PRM stage: rule-written first-error traces on GSM8K training-side solutions.

    python training/prm_sft.py --out runs/prm_sft/data.jsonl [--limit N]
    python training/sft.py --config training/configs/cpu_prm_sft.yaml

Only questions on the *train* side of ``training/split.json`` are used (neither the dev
``heldout_ids`` nor the ``test_ids`` groups). Each question's reference solution gives two
rows (:func:`judgekit.train.process_labels.process_rows`): the solution as is (first error
-1, every ``<<a*b=c>>`` annotation recomputes) and a copy with one annotation's result made
wrong (first error = that step, by construction). The target is the rule-written trace in
``-p prm``'s first-error format (:func:`judgekit.train.process_labels.first_error_trace`):
each step's recomputation up to the first wrong one, then ``First error: [[k]]``. Prompts are
rendered by the ``prm`` protocol exactly as ``judgekit judge -p prm`` renders them. Rows are
shuffled (seed 0) and balanced: ``--limit N`` keeps N/2 correct and N/2 erroneous solutions.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from judgekit.core.data import read_rows  # noqa: E402
from judgekit.core.types import Sample  # noqa: E402
from judgekit.protocols import JudgeConfig, get_protocol  # noqa: E402
from judgekit.train.process_labels import first_error_trace, process_rows  # noqa: E402
from judgekit.train.recipe.split import SOURCES, assert_disjoint, read_never_train  # noqa: E402


def train_questions(data: Path, split: Path) -> list[dict[str, Any]]:
    """One row per training-side question (no row of its group is dev or test), by question index."""
    never = read_never_train(split)["gsm8k"]
    by_q: dict[int, dict[str, Any]] = {}
    blocked: set[int] = set()
    for _, row in read_rows(data / SOURCES["gsm8k"].relpath):
        qi = int(row["question_index"])
        by_q.setdefault(qi, row)
        if row["id"] in never:
            blocked.add(qi)
    return [by_q[qi] for qi in sorted(by_q) if qi not in blocked]


def records(questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Prompt/completion records (the prm protocol's first-error prompt, the rule-written trace)."""
    proto = get_protocol("prm", JudgeConfig(method="generative"))
    out = []
    for q in questions:
        for row in process_rows(f"gsm8k-q{q['question_index']}", q["question"], q["reference_solution"]):
            sample = Sample(id=row["id"], prompt=row["problem"], responses=("\n".join(row["steps"]),),
                            metadata={"steps": row["steps"]})
            prompt = proto.prompts(sample)[0]  # type: ignore[attr-defined]
            out.append({"id": row["id"], "item_id": q["id"], "source": "gsm8k-process", "mode": "generative",
                        "label": row["label"], "template": prompt.template, "template_hash": prompt.template_hash,
                        "prompt": [{"role": m.role, "content": m.content} for m in prompt.messages],
                        "completion": [{"role": "assistant", "content": first_error_trace(row["steps"])}]})
    return out


def balanced(rows: list[dict[str, Any]], limit: int | None, seed: int = 0) -> list[dict[str, Any]]:
    """Shuffled rows; with ``limit``, half correct and half erroneous solutions (as far as they go)."""
    rows = list(rows)
    random.Random(seed).shuffle(rows)
    if limit is None:
        return rows
    good = [r for r in rows if r["label"] == -1][: limit // 2]
    bad = [r for r in rows if r["label"] != -1][: limit - len(good)]
    mixed = good + bad
    random.Random(seed + 1).shuffle(mixed)
    return mixed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("JUDGEKIT_SHARED_DATA", ROOT.parent / "shared"
                                                                     / "data")))
    ap.add_argument("--split", type=Path, default=ROOT / "training" / "split.json")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args(argv)
    rows = balanced(records(train_questions(args.data, args.split)), args.limit)
    assert_disjoint(read_never_train(args.split), [r["item_id"] for r in rows], "prm sft rows")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    n_bad = sum(r["label"] != -1 for r in rows)
    print(f"{len(rows)} rows ({n_bad} erroneous, {len(rows) - n_bad} correct) -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
