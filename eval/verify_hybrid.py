"""Rule-only, model-only and hybrid verification on plain GSM8K (held out) and the varied-form test set.

Run (the table in docs/verification.md is this script's output):

    JUDGEKIT_SHARED_DATA=../shared/data JUDGEKIT_THREADS=1 python eval/verify_hybrid.py \
        --out runs/verify_hybrid [--model judgekit-135m] [--method logit]

Sets: ``gsm8k-heldout`` (the held-out side of ``training/split.json``, GSM8K's own
``A: N`` answers), and the test part of the varied-form set
(``training/verify_forms.py``; ``forms-test`` with and without worked solutions,
``forms-test-answer-only`` without). Each cell is ``judgekit judge -p verify
--verify-mode MODE`` on that file; the model's calls are cached, so the hybrid
reuses the model-only run's answers for the items it sends to the model. Nothing
was trained on the test part; note that the number-words reader of the rule stage
was written after seeing that words were the only form the rules could not read
(docs/verification.md says so next to the table).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from judgekit.core.data import load_samples, read_rows  # noqa: E402
from judgekit.core.stats import Z95_ROUNDED, wilson_interval  # noqa: E402
from judgekit.judge import run_judge  # noqa: E402
from judgekit.options import JudgeOptions, build_protocol, build_runner  # noqa: E402
from judgekit.train.recipe.split import SOURCES, read_split  # noqa: E402
from judgekit.train.recipe.verify_forms import build  # noqa: E402

MODES = ("rule", "model", "hybrid")


def write_sets(data: Path, out: Path) -> dict[str, Path]:
    """The three evaluation files (JSONL) under ``out/data``."""
    rows = [row for _, row in read_rows(data / SOURCES["gsm8k"].relpath)]
    heldout = read_split(ROOT / "training" / "split.json")["gsm8k"]
    _, items = build(rows, heldout, seed=0)
    folder = out / "data"
    folder.mkdir(parents=True, exist_ok=True)
    sets = {
        "gsm8k-heldout": [r for r in rows if r["id"] in heldout],
        "forms-test": [i.to_dict() for i in items["test"]],
        "forms-test-answer-only": [i.to_dict() for i in items["test"] if not i.with_solution],
    }
    paths = {}
    for name, chosen in sets.items():
        paths[name] = folder / f"{name}.jsonl"
        paths[name].write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in chosen), encoding="utf-8")
    return paths


def cell(path: Path, mode: str, opts: JudgeOptions, out: Path, sample: int | None = None) -> dict[str, Any]:
    """Judge one set in one mode; accuracy with its Wilson interval and how many items reached the model.

    ``sample``: judge a seeded random sample of that many items (``--sample N --seed 0``).
    """
    opts = replace(opts, verify_mode=mode)
    proto = build_protocol(opts)
    samples = load_samples(path, task="verify", sample=sample, seed=0)
    name = f"{path.stem}-{mode}" + (f"-sample{sample}" if sample else "")
    result = run_judge(samples, proto, build_runner(opts), out / name, input_path=path)
    labels = {s.id: s.label for s in samples}
    right = sum(1 for j in result.judgments if j.verdict == labels[j.sample_id])
    n = len(samples)
    lo, hi = wilson_interval(right, n, z=Z95_ROUNDED)
    to_model = sum(1 for j in result.judgments if j.extra.get("decided_by") == "model")
    failures = sum(1 for j in result.judgments if j.parse_failure or "skipped" in j.extra)
    label = path.stem + (f" (sample of {sample})" if sample else "")
    return {"set": label, "mode": mode, "n": n, "accuracy": right / n, "ci95": [lo, hi],
            "to_model": to_model, "failures": failures, "baselines": result.summary.get("baselines")}


def table(cells: list[dict[str, Any]]) -> str:
    """Markdown: one row per set, rule / model / hybrid side by side, plus the constant baselines."""
    lines = ["| set | n | math-verify or last number (the issue's rule) | rule stage only (`--verify-mode rule`) | "
             "model only | hybrid (default) | items sent to the model (hybrid) | always incorrect | always correct |",
             "|---|---:|---|---|---|---|---:|---:|---:|"]
    by = {(c["set"], c["mode"]): c for c in cells}
    for name in dict.fromkeys(c["set"] for c in cells):
        row = [name, str(by[(name, "rule")]["n"])]
        plain = (by[(name, "rule")]["baselines"] or {}).get("math-verify-or-last-number")
        row.append("-" if plain is None else
                   f"{plain['accuracy']:.3f} [{plain['ci95'][0]:.3f}, {plain['ci95'][1]:.3f}]")
        for mode in MODES:
            c = by.get((name, mode))
            row.append("not run" if c is None else f"{c['accuracy']:.3f} [{c['ci95'][0]:.3f}, {c['ci95'][1]:.3f}]")
        row.append(str(by[(name, "hybrid")]["to_model"]))
        base = by[(name, "rule")]["baselines"] or {}
        row += [f"{base[k]['accuracy']:.3f}" for k in ("always-incorrect", "always-correct")]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("JUDGEKIT_SHARED_DATA", ROOT.parent / "shared"
                                                                     / "data")))
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "verify_hybrid")
    ap.add_argument("--model", default=None)
    ap.add_argument("--method", default="logit")
    ap.add_argument("--sets", default="forms-test-answer-only,gsm8k-heldout,forms-test")
    ap.add_argument("--model-sample", type=int, default=None,
                    help="also judge a seeded sample of N items per set in all three modes (model-only on a "
                         "2-core CPU is the slow part: a full model-only column takes hours there)")
    ap.add_argument("--sample-sets", default=None, help="sets that get the --model-sample rows (default: all)")
    ap.add_argument("--full-model", action="store_true", help="model-only on every item of every set")
    args = ap.parse_args(argv)
    paths = write_sets(args.data, args.out)
    opts = JudgeOptions(protocol="verify", method=args.method, model=args.model)
    cells = []
    plan = [(name, mode, None) for name in args.sets.split(",") for mode in ("hybrid", "rule")
            + (("model",) if args.full_model else ())]
    if args.model_sample:
        plan += [(name, mode, args.model_sample) for name in (args.sample_sets or args.sets).split(",")
                 for mode in MODES]
    for name, mode, sample in plan:
        cells.append(cell(paths[name], mode, opts, args.out, sample))
        print(json.dumps({k: v for k, v in cells[-1].items() if k != "baselines"}), flush=True)
        (args.out / "cells.json").write_text(json.dumps(cells, indent=1) + "\n", encoding="utf-8")
    print(f"model: {opts.model or 'judgekit-135m (default)'}, method: {args.method}")
    print(table(cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
