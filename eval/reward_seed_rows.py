"""Measured rows for the seed judges on held-out pairs: rlbff, activation-rm, a trained scalar RM; STARC between them.

    JUDGEKIT_THREADS=1 nice -n 10 python eval/reward_seed_rows.py --n 60 --k 8 --judges activation-rm,rlbff \
        --rlbff-limit 20 --principle "The response follows every explicit instruction in the user prompt." \
        --principle "The response is factually correct." --out eval/results/reward_seed_rows.json
    JUDGEKIT_THREADS=1 nice -n 10 python eval/reward_seed_rows.py --n 60 --judges scalar-rm \
        --rm runs/rm_noise/clean --out eval/results/reward_seed_rows.json   # adds the trained RM, STARC again

The held-out pairs are a seeded subset of the shared data's held-out side (training/split.json; rlbff
judges the first --rlbff-limit of them, for CPU time); the activation RM's k few-shot pairs come from
the TRAINING side (seeded). `--collect` runs nothing and rebuilds the results from the run directories,
an interrupted run's finished chunks included (marked partial_run). Each judge runs through
`judgekit judge`'s path (protocol + runner + call cache) into runs/seed_rows/<judge>/;
accuracy is beside the baselines and length-stratified (judgekit.train.rm_eval), and STARC distances are
computed between every two judges' per-response rewards (judgekit.arena.starc).
`python eval/reward_seed_rows.py --table eval/results/reward_seed_rows.json` prints the docs tables.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from judgekit.arena.starc import starc_distance  # noqa: E402
from judgekit.core.types import Sample  # noqa: E402
from judgekit.judge import run_judge  # noqa: E402
from judgekit.options import JudgeOptions, build_protocol, build_runner  # noqa: E402
from judgekit.train.rm_data import DEFAULT_SPLIT, PreferencePair, load_pairs, shared_data_dir, subsample  # noqa: E402
from judgekit.train.rm_eval import evaluate_scores  # noqa: E402


def samples_of(pairs: list[PreferencePair]) -> list[Sample]:
    """Pairs as samples in their loader's display order (label A = chosen shown first)."""
    out = []
    for p in pairs:
        a, b = (p.chosen, p.rejected) if p.chosen_first else (p.rejected, p.chosen)
        out.append(Sample(id=p.id, prompt=p.prompt, responses=(a, b), label="A" if p.chosen_first else "B"))
    return out


def write_pairs(path: Path, pairs: list[PreferencePair]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"id": p.id, "prompt": p.prompt, "chosen": p.chosen,
                                        "rejected": p.rejected}) + "\n" for p in pairs))
    return path


def judged_rows(run: Path) -> list[dict] | None:  # type: ignore[type-arg]
    """The judgment rows of a run directory: results.jsonl, or the finished chunks of an interrupted run."""
    for name in ("results.jsonl", "results.partial.jsonl"):
        path = run / name
        if path.is_file():
            rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
            return [r for r in rows if "sample_id" in r]
    return None


def table(path: Path) -> str:
    data = json.loads(path.read_text())
    lines = ["| judge | judged | acc [95% CI] | chosen longer | chosen shorter | length-controlled | "
             "best baseline | beats it | s/pair |", "|---|---|---|---|---|---|---|---|---|"]
    for name, j in data["judges"].items():
        rm = j["eval"]["rows"]["rm"]
        base = j["eval"]["rows"][j["eval"]["best_baseline"]]
        lines.append(f"| {name} | {rm['n']} | {rm['accuracy']:.3f} [{rm['ci95'][0]:.2f}, {rm['ci95'][1]:.2f}] | "
                     f"{rm['chosen_longer']['accuracy']:.3f} | {rm['chosen_shorter']['accuracy']:.3f} | "
                     f"{rm['length_controlled']:.3f} | {j['eval']['best_baseline']} {base['accuracy']:.3f} | "
                     f"{'yes' if j['eval']['beats_best_baseline'] else 'no'} | "
                     f"{'-' if j['seconds'] is None else round(j['seconds'] / max(rm['n'], 1), 1)} |")
    lines += ["", "| first | second | STARC | items | same top response |", "|---|---|---|---|---|"]
    for r in data["starc"]:
        agree = "-" if r["top_agreement"] is None else f"{r['top_agreement']:.3f}"
        lines.append(f"| {r['first']} | {r['second']} | {r['starc']:.3f} | {r['items']} | {agree} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=80)
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--layer", type=int, default=None)
    ap.add_argument("--rm", type=Path, default=None, help="a trained scalar RM directory to include")
    ap.add_argument("--judges", default="rlbff,activation-rm,scalar-rm")
    ap.add_argument("--rlbff-limit", type=int, default=None, help="rlbff judges only the first N held-out pairs")
    ap.add_argument("--principle", action="append", default=[], help="rlbff principle (default: the bundled five)")
    ap.add_argument("--out", type=Path, default=Path("eval/results/reward_seed_rows.json"))
    ap.add_argument("--work", type=Path, default=Path("runs/seed_rows"))
    ap.add_argument("--table", type=Path)
    ap.add_argument("--collect", action="store_true",
                    help="run nothing: rebuild the results from the run directories (finished or partial runs)")
    args = ap.parse_args()
    if args.table:
        print(table(args.table))
        return
    data_dir, split = shared_data_dir(), DEFAULT_SPLIT
    held = subsample(load_pairs(data_dir, split, "heldout"), args.n, 0)
    shots = subsample(load_pairs(data_dir, split, "train"), args.k, 0)
    fewshot = write_pairs(args.work / "fewshot.jsonl", shots)
    samples = samples_of(held)
    by_id = {p.id: p for p in held}
    option = (f"fewshot={fewshot}",) + ((f"layer={args.layer}",) if args.layer is not None else ())
    configs = {
        "rlbff": JudgeOptions(protocol="rlbff", method="logit", model="smollm2", principle=tuple(args.principle)),
        "activation-rm": JudgeOptions(protocol="activation-rm", model="smollm2", option=option),
        "scalar-rm": JudgeOptions(protocol="scalar-rm", model=str(args.rm) if args.rm else None),
    }
    results = json.loads(args.out.read_text()) if args.out.is_file() else {"judges": {}}
    results["command"] = " ".join(sys.argv)
    rewards: dict[str, dict[str, list[float | None]]] = {}
    for name in args.judges.split(","):
        opts = configs[name]
        if name == "scalar-rm" and not args.rm:
            continue
        if not args.collect:
            proto = build_protocol(opts)
            runner = build_runner(opts)
            started = time.perf_counter()
            todo = samples[: args.rlbff_limit] if name == "rlbff" and args.rlbff_limit else samples
            run_judge(todo, proto, runner, args.work / name)
            (args.work / name / "seconds.txt").write_text(f"{time.perf_counter() - started:.1f}\n")
        rows = judged_rows(args.work / name)
        if rows is None:
            continue
        scored = [r for r in rows if r.get("scores") and len(r["scores"]) == 2 and r["sample_id"] in by_id]
        pairs, chosen, rejected = [], [], []
        for r in scored:
            p = by_id[r["sample_id"]]
            a, b = r["scores"]
            c, x = (a, b) if p.chosen_first else (b, a)
            pairs.append(p)
            chosen.append(c)
            rejected.append(x)
        seconds_file = args.work / name / "seconds.txt"
        results["judges"][name] = {"eval": evaluate_scores(pairs, chosen, rejected), "judged": len(rows),
                                   "not_scored": len(rows) - len(scored),
                                   "seconds": float(seconds_file.read_text()) if seconds_file.is_file() else None,
                                   "partial_run": not (args.work / name / "results.jsonl").is_file()}
        acc = results["judges"][name]["eval"]["rows"]["rm"]["accuracy"]
        print(f"[{name}] {len(scored)} pairs: accuracy {acc}", flush=True)
    for name in results["judges"]:  # every judge run so far, from its run directory
        for r in judged_rows(args.work / name) or []:
            if r.get("scores") and len(r["scores"]) == 2 and r["sample_id"] in by_id:
                a, b = r["scores"]
                rewards.setdefault(name, {})[r["sample_id"]] = [a, b] if by_id[r["sample_id"]].chosen_first else [b, a]
    results["starc"] = [{"first": a, "second": b, **starc_distance(rewards[a], rewards[b]).to_dict()}
                        for a, b in itertools.combinations(sorted(rewards), 2)]
    results["fewshot_ids"] = [p.id for p in shots]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print(table(args.out))


if __name__ == "__main__":
    main()
