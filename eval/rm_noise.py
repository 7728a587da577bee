"""Scalar RM arms under injected label noise: `judgekit train rm` options, held-out accuracy beside baselines.

    for arm in clean noise20 noise20-collab; do JUDGEKIT_THREADS=1 nice -n 10 python eval/rm_noise.py \
        --out eval/results/rm_noise_$arm.json --limit 32 --eval-limit 40 --max-length 192 --arms $arm & done

Each arm trains a LoRA r16 Bradley-Terry RM from the embedded SmolLM2-135M on the same seeded subset of
the shared data's TRAINING side (noise flips a seeded fraction of its labels) and is scored on the same
seeded subset of the HELD-OUT side. The JSON holds every arm's rm.json; docs/reward_models.md's table
is printed by `python eval/rm_noise.py --table eval/results/rm_noise_*.json`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from judgekit.train.rm import RMOptions, train_rm  # noqa: E402
from judgekit.train.rm_data import DEFAULT_SPLIT, shared_data_dir  # noqa: E402

ARMS = {
    "clean": {},
    "noise10": {"noise": 0.1},
    "noise20": {"noise": 0.2},
    "noise40": {"noise": 0.4},
    "noise20-ls": {"noise": 0.2, "label_smoothing": 0.1},
    "noise20-collab": {"noise": 0.2, "collaborative": True, "drop": 0.2},
    "noise40-ls": {"noise": 0.4, "label_smoothing": 0.1},
    "noise40-collab": {"noise": 0.4, "collaborative": True, "drop": 0.4},
    "clean-margin": {"margin": 0.5},
    "clean-balance": {"length_balance": True},
}


def table(paths: list[Path]) -> str:
    """The markdown table of one or more results files (their arms in order)."""
    data: dict = {"arms": {}}  # type: ignore[type-arg]
    for path in paths:
        data["arms"].update(json.loads(path.read_text())["arms"])
    lines = ["| arm | flipped | trained pairs | collab dropped (flipped) | held-out acc [95% CI] | chosen longer | "
             "chosen shorter | length-controlled | best baseline | beats it | minutes |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, rep in data["arms"].items():
        ev = rep["eval"]
        rm = ev["rows"]["rm"]
        base = ev["rows"][ev["best_baseline"]]
        col = rep.get("collaborative")
        dropped = f"{col['dropped']} ({col['dropped_flipped']})" if col else "-"
        lines.append(
            f"| {name} | {rep['data']['flipped']} | {rep['fit']['pairs']} | {dropped} | "
            f"{rm['accuracy']:.3f} [{rm['ci95'][0]:.2f}, {rm['ci95'][1]:.2f}] (n={rm['n']}) | "
            f"{rm['chosen_longer']['accuracy']:.3f} | {rm['chosen_shorter']['accuracy']:.3f} | "
            f"{rm['length_controlled']:.3f} | {ev['best_baseline']} {base['accuracy']:.3f} | "
            f"{'yes' if ev['beats_best_baseline'] else 'no'} | {rep['minutes']:.1f} |")
    b = next(iter(data["arms"].values()))["eval"]["rows"]
    lines.append("")
    lines.append("Baselines on the same held-out pairs: " + ", ".join(
        f"{k} {v['accuracy']:.3f} (length-controlled {v['length_controlled']:.3f})"
        for k, v in b.items() if k != "rm"))
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("eval/results/rm_noise.json"))
    ap.add_argument("--work", type=Path, default=Path("runs/rm_noise"))
    ap.add_argument("--arms", default="clean,noise20,noise20-ls,noise20-collab")
    ap.add_argument("--limit", type=int, default=96)
    ap.add_argument("--eval-limit", type=int, default=80)
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument("--epochs", type=float, default=1.0)
    ap.add_argument("--table", type=Path, nargs="+", help="print the table of results files and exit")
    args = ap.parse_args()
    if args.table:
        print(table(args.table))
        return
    data_dir, split = shared_data_dir(), DEFAULT_SPLIT
    base = RMOptions(limit=args.limit, eval_limit=args.eval_limit, max_length=args.max_length, epochs=args.epochs,
                     lora_r=16, batch_size=4)
    results = json.loads(args.out.read_text()) if args.out.is_file() else {"arms": {}}
    results["command"] = " ".join(sys.argv)
    for name in args.arms.split(","):
        if name in results["arms"]:
            continue  # resumable: finished arms are kept
        started = time.perf_counter()
        opts = replace(base, **ARMS[name])  # type: ignore[arg-type]
        report = train_rm(data_dir, split, args.work / name, opts,
                          log=lambda m, n=name: print(f"[{n}] {m}", flush=True))
        report["minutes"] = (time.perf_counter() - started) / 60
        results["arms"][name] = report
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1) + "\n")
        print(f"[{name}] done in {report['minutes']:.1f} min: acc {report['eval']['rows']['rm']['accuracy']:.3f}",
              flush=True)


if __name__ == "__main__":
    main()
