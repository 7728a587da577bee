"""Split, training files and SFT rows for the judge recipe (stage 1 and 2 of training/recipes/judgekit_135m.sh).

    python training/recipe_data.py split --out training/split.json [--seed 0]
    python training/recipe_data.py data --split training/split.json --out runs/recipe/data \
        [--max gsm8k=900,llmbar=200,hhh=160,pandalm=300] [--trace rule] [--crome] [--master-rm 0.2]
        [--traces traces.jsonl]   # from `judgekit train rationalize` (the model or --model TEACHER as writer)
    python training/recipe_data.py focus --data runs/recipe/data-focus --split training/split.json \
        [--logit N] [--generative 250 --pairwise 300 --seed 0]

``split`` draws the held-out side of every training-grade source in ../shared/data
(grouped by question / prompt) and writes the ids; ``data`` writes train/held-out
files, the SFT set (``sft.jsonl``: both orders, half logit and half generative
targets) and ``data_report.json``, then re-reads every training file against the
split and fails if a held-out id is in one. ``focus`` writes ``sft_focus.jsonl`` for
the second, verification-focused SFT stage: the GSM8K logit rows of ``sft.jsonl``
(Master-RM rows included; all, or a seeded ``--logit N``), plus a seeded sample of its GSM8K generative rows and of
its pairwise logit rows (so the first stage's skills keep being rehearsed), shuffled.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from judgekit.train.distill import write_jsonl  # noqa: E402
from judgekit.train.recipe.build import (  # noqa: E402
    DataOptions,
    check_files,
    sft_records,
    training_samples,
    write_source_files,
)
from judgekit.train.recipe.split import SOURCES, add_test_sides, make_split, read_split, read_test, write_split  # noqa: E402
from judgekit.train.recipe.traces import TRACE_KINDS  # noqa: E402


def data_dir() -> Path:
    return Path(os.environ.get("JUDGEKIT_SHARED_DATA", ROOT.parent / "shared" / "data"))


def parse_max(text: str) -> dict[str, int]:
    out = {}
    for part in filter(None, text.split(",")):
        name, _, value = part.partition("=")
        if name not in SOURCES:
            raise SystemExit(f"--max: unknown source {name!r} (sources: {', '.join(SOURCES)})")
        out[name] = int(value)
    return out


def focus_records(rows: list[dict], generative: int, pairwise: int, seed: int, logit: int | None = None) -> list[dict]:
    """The verification-focused SFT set drawn from the recipe's SFT rows (see the module docstring).

    ``logit`` caps the GSM8K logit rows (a seeded sample; None keeps all of them).
    """
    rng = random.Random(seed)
    verify_logit = [r for r in rows if r["source"] == "gsm8k" and r["mode"] == "logit"]
    if logit is not None:
        verify_logit = rng.sample(verify_logit, min(logit, len(verify_logit)))
    verify_gen = [r for r in rows if r["source"] == "gsm8k" and r["mode"] == "generative"]
    pair_logit = [r for r in rows if r["source"] != "gsm8k" and r["mode"] == "logit"]
    chosen = (verify_logit + rng.sample(verify_gen, min(generative, len(verify_gen)))
              + rng.sample(pair_logit, min(pairwise, len(pair_logit))))
    rng.shuffle(chosen)
    return chosen


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="stage", required=True)
    sp = sub.add_parser("split")
    sp.add_argument("--out", type=Path, required=True)
    sp.add_argument("--seed", type=int, default=0)
    dp = sub.add_parser("data")
    dp.add_argument("--split", type=Path, required=True)
    dp.add_argument("--out", type=Path, required=True)
    dp.add_argument("--max", default="gsm8k=900,llmbar=200,hhh=160,pandalm=300")
    dp.add_argument("--max-chars", type=int, default=2000)
    dp.add_argument("--trace", choices=TRACE_KINDS, default="rule")
    dp.add_argument("--traces", type=Path, help="rationalized traces ({id, order, trace} rows from "
                    "`judgekit train rationalize`) for generative targets; items without one use --trace")
    dp.add_argument("--crome", action="store_true")
    dp.add_argument("--master-rm", type=float, default=0.2)
    dp.add_argument("--logit-share", type=float, default=0.5)
    dp.add_argument("--seed", type=int, default=0)
    tp = sub.add_parser("test-side", help="carve the test side: groups neither in dev nor read by the shipped recipe")
    tp.add_argument("--split", type=Path, required=True)
    tp.add_argument("--used-max", default="gsm8k=900,llmbar=200,hhh=160,pandalm=300",
                    help="the --max of the data run that trained the shipped judge (its rows are excluded)")
    tp.add_argument("--rows", default="gsm8k=200,llmbar=100,hhh=60,pandalm=100")
    tp.add_argument("--seed", type=int, default=0)
    fp = sub.add_parser("focus")
    fp.add_argument("--data", type=Path, required=True, help="the data stage's output directory")
    fp.add_argument("--split", type=Path, required=True)
    fp.add_argument("--logit", type=int, default=None, help="GSM8K logit rows (default: all)")
    fp.add_argument("--generative", type=int, default=250)
    fp.add_argument("--pairwise", type=int, default=300)
    fp.add_argument("--seed", type=int, default=0)
    ns = parser.parse_args(argv)
    if ns.stage == "focus":
        rows = [json.loads(line) for line in (ns.data / "sft.jsonl").read_text(encoding="utf-8").splitlines()]
        chosen = focus_records(rows, ns.generative, ns.pairwise, ns.seed, logit=ns.logit)
        write_jsonl(ns.data / "sft_focus.jsonl", chosen)
        checked = check_files(ns.split, [ns.data / "sft_focus.jsonl"])
        print(f"sft focus records: {len(chosen)} ({checked} ids checked against the split)")
        return
    if ns.stage == "split":
        splits = make_split(data_dir(), ns.seed)
        write_split(splits, ns.out)
        print(json.dumps({k: len(v.heldout_ids) for k, v in splits.items()}))
        return
    if ns.stage == "test-side":
        dev = read_split(ns.split)
        used_opts = DataOptions(max_items=parse_max(ns.used_max), seed=0)
        used = {n: {s.id for s in training_samples(SOURCES[n], data_dir(), dev[n], used_opts)} for n in dev}
        counts = add_test_sides(ns.split, data_dir(), used, parse_max(ns.rows), ns.seed,
                                f"python training/recipe_data.py test-side --split {ns.split} --used-max {ns.used_max} "
                                f"--rows {ns.rows} --seed {ns.seed}")
        print(json.dumps(counts))
        return
    heldout = read_split(ns.split)
    opts = DataOptions(max_items=parse_max(ns.max), max_chars=ns.max_chars, master_rm_ratio=ns.master_rm,
                       crome=ns.crome, seed=ns.seed)
    report = write_source_files(data_dir(), heldout, ns.out, opts, test=read_test(ns.split))
    files = [(name, ns.out / f"train_{name}.jsonl") for name in heldout]
    given = None
    if ns.traces:
        from judgekit.train.distill import import_traces

        given = {(i, "BA" if swapped else "AB"): texts[0] for (i, swapped), texts in import_traces(ns.traces).items()}
    records = sft_records(files, trace=ns.trace, seed=ns.seed, logit_share=ns.logit_share, traces=given)
    write_jsonl(ns.out / "sft.jsonl", records)
    checked = check_files(ns.split, [p for _, p in files] + [ns.out / "sft.jsonl"])
    report = {"options": vars(ns) | {"split": str(ns.split), "out": str(ns.out)}, "sources": report,
              "sft_records": len(records), "ids_checked_against_split": checked}
    (ns.out / "data_report.json").write_text(json.dumps(report, indent=1, default=str) + "\n", encoding="utf-8")
    print(json.dumps(report["sources"]), f"sft records: {len(records)}")


if __name__ == "__main__":
    main()
