"""Rule-only, model-only and hybrid verification on plain GSM8K and the varied-form set, dev or test side.

Run (the tables in docs/verification.md are this script's output):

    JUDGEKIT_SHARED_DATA=../shared/data JUDGEKIT_THREADS=1 python eval/verify_hybrid.py --side dev \
        --out runs/verify_hybrid_dev [--model judgekit-135m] [--method logit]
    python eval/verify_hybrid.py --side test --out runs/verify_hybrid_test ...   # the test read (recorded)

Sets per side: ``gsm8k-dev`` / ``gsm8k-test`` (``heldout_ids`` / ``test_ids`` of
``training/split.json``, GSM8K's own ``A: N`` answers), and that part of the varied-form
set (``training/verify_forms.py``; ``forms-dev`` / ``forms-test`` with and without worked
solutions, ``forms-*-answer-only`` without). ``--side test`` appends the read to
``training/test_reads.jsonl`` (a second read of the same sets and model needs
``--again REASON``). Each cell is ``judgekit judge -p verify --verify-mode MODE`` on
that file; the model's calls are cached, so the hybrid reuses the model-only run's
answers for the items it sends to the model. Nothing was trained on the test part;
note that the number-words reader of the rule stage was written after seeing that
words were the only form the rules could not read (docs/verification.md says so).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from judgekit.core.data import load_samples, read_rows  # noqa: E402
from judgekit.core.stats import Z95_ROUNDED, wilson_interval  # noqa: E402
from judgekit.judge import run_judge  # noqa: E402
from judgekit.options import JudgeOptions, build_protocol, build_runner  # noqa: E402
from judgekit.train.recipe.split import SOURCES, read_split, read_test  # noqa: E402
from judgekit.train.recipe.verify_forms import build  # noqa: E402

MODES = ("rule", "model", "hybrid")
SPLIT = ROOT / "training" / "split.json"
TEST_READS = ROOT / "training" / "test_reads.jsonl"


def write_sets(data: Path, out: Path, side: str = "test") -> dict[str, Path]:
    """The three evaluation files (JSONL) of one side under ``out/data``."""
    rows = [row for _, row in read_rows(data / SOURCES["gsm8k"].relpath)]
    heldout = read_split(SPLIT)["gsm8k"]
    plain = heldout if side == "dev" else read_test(SPLIT)["gsm8k"]
    _, items = build(rows, heldout, seed=0)
    folder = out / "data"
    folder.mkdir(parents=True, exist_ok=True)
    sets = {
        f"gsm8k-{side}": [r for r in rows if r["id"] in plain],
        f"forms-{side}": [i.to_dict() for i in items[side]],
        f"forms-{side}-answer-only": [i.to_dict() for i in items[side] if not i.with_solution],
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


def record_read(args: argparse.Namespace, opts: JudgeOptions, plan: list[tuple[str, str, int | None]]) -> None:
    """Append this test read to training/test_reads.jsonl before any test item is judged.

    A second read of the same configuration (model, method, sets and modes) stops unless
    ``--again REASON`` says why; the reason is recorded.
    """
    config = {"model": opts.model or "judgekit-135m", "method": opts.method,
              "cells": sorted({f"{name}:{mode}" + (f":sample{n}" if n else "") for name, mode, n in plan})}
    earlier = [json.loads(x) for x in TEST_READS.read_text(encoding="utf-8").splitlines()
               if x.strip()] if TEST_READS.exists() else []
    if any(e.get("kind") == "verify" and e.get("config") == config for e in earlier) and not args.again:
        raise SystemExit(f"{TEST_READS}: this verify configuration read the test side already; --again REASON")
    record = {"utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "kind": "verify",
              "command": ["python", "eval/verify_hybrid.py", *sys.argv[1:]], "config": config,
              "reason_for_another_read": args.again}
    with TEST_READS.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("JUDGEKIT_SHARED_DATA", ROOT.parent / "shared"
                                                                     / "data")))
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "verify_hybrid")
    ap.add_argument("--model", default=None)
    ap.add_argument("--method", default="logit")
    ap.add_argument("--side", choices=("dev", "test"), required=True)
    ap.add_argument("--sets", default="forms-answer-only,gsm8k,forms",
                    help="of forms-answer-only, gsm8k, forms (the side is added: forms-dev-answer-only, ...)")
    ap.add_argument("--model-sample", type=int, default=None,
                    help="also judge a seeded sample of N items per set in all three modes (model-only on a "
                         "2-core CPU is the slow part: a full model-only column takes hours there)")
    ap.add_argument("--sample-sets", default=None, help="sets that get the --model-sample rows (default: all)")
    ap.add_argument("--full-model", action="store_true", help="model-only on every item of every set")
    ap.add_argument("--again", default=None, metavar="REASON", help="--side test: read it again (recorded)")
    args = ap.parse_args(argv)
    paths = write_sets(args.data, args.out, args.side)

    def named(sets: str) -> list[str]:
        names = []
        for short in sets.split(","):
            name = {"forms-answer-only": f"forms-{args.side}-answer-only", "gsm8k": f"gsm8k-{args.side}",
                    "forms": f"forms-{args.side}"}.get(short.strip())
            if name is None:
                raise SystemExit(f"--sets/--sample-sets: unknown set {short!r} (forms-answer-only, gsm8k, forms)")
            names.append(name)
        return names

    opts = JudgeOptions(protocol="verify", method=args.method, model=args.model)
    modes = ("hybrid", "rule") + (("model",) if args.full_model else ())
    plan: list[tuple[str, str, int | None]] = [(name, mode, None) for name in named(args.sets) for mode in modes]
    if args.model_sample:
        plan += [(name, mode, args.model_sample) for name in named(args.sample_sets or args.sets)
                 for mode in MODES]
    if args.side == "test":
        record_read(args, opts, plan)
    cells = []
    for name, mode, sample in plan:
        cells.append(cell(paths[name], mode, opts, args.out, sample))
        print(json.dumps({k: v for k, v in cells[-1].items() if k != "baselines"}), flush=True)
        (args.out / "cells.json").write_text(json.dumps(cells, indent=1) + "\n", encoding="utf-8")
    print(f"side: {args.side}, model: {opts.model or 'judgekit-135m (default)'}, method: {args.method}")
    print(table(cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
