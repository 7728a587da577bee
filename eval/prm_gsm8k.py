"""Process-labelled GSM8K sets (ProcessBench layout) and the rule baseline.

Built from the reference solutions of shared GSM8K (gsm8k_verification.jsonl, one per
question): each gives a correct solution (label -1) and a copy with one ``<<a*b=c>>``
result made wrong (label = that step), labels by construction
(:mod:`judgekit.train.process_labels`). Questions follow ``training/split.json``: the
held-out questions (``heldout_ids``, the dev side) give the eval set, the others except the
``test_ids`` questions the training side; no question is in two of them.

    python eval/prm_gsm8k.py build OUT_DIR            # OUT_DIR/train/gsm8k.json, OUT_DIR/heldout/gsm8k.json (dev)
    python eval/prm_gsm8k.py rule OUT_DIR/heldout     # the rule baseline, scored like ProcessBench
    python eval/prm_gsm8k.py fixture FILE             # the small test fixture (training-side questions)
    python eval/prm_gsm8k.py separation RUN_DIR OUT_DIR/heldout   # per-step P(correct): wrong step vs the others
    python eval/prm_gsm8k.py table RECIPE_OUT         # training/recipes/prm_135m.sh: raw vs trained vs the rule
    python eval/prm_gsm8k.py slice SRC.json OUT.json N   # N published ProcessBench rows, half erroneous, seed 0

The embedded judge on the same held-out file:

    judgekit eval processbench OUT_DIR/heldout -p prm -o runs/prm-heldout
"""

from __future__ import annotations

import json
import os
import random
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # judgekit from this checkout, installed or not

from judgekit.core.data import read_rows  # noqa: E402
from judgekit.core.stats import paired_bootstrap, wilson_interval  # noqa: E402
from judgekit.evaluation.benchmarks import get_benchmark, score_benchmark  # noqa: E402
from judgekit.evaluation.benchmarks.base import ScoreOutcome  # noqa: E402
from judgekit.train.process_labels import process_rows, rule_first_error  # noqa: E402
from judgekit.train.recipe.split import read_split, read_test  # noqa: E402

SHARED = Path(os.environ.get("JUDGEKIT_SHARED_DATA", ROOT.parent / "shared" / "data"))
SOURCE = SHARED / "gsm8k_verification" / "gsm8k_verification.jsonl"


def questions() -> dict[int, dict[str, Any]]:
    """One row (question + reference solution) per question index; whether it is dev (held out) or test."""
    split = ROOT / "training" / "split.json"
    held, test = read_split(split)["gsm8k"], read_test(split)["gsm8k"]
    out: dict[int, dict[str, Any]] = {}
    for _, row in read_rows(SOURCE):
        q = out.setdefault(int(row["question_index"]), {**row, "heldout": False, "test": False})
        q["heldout"] = q["heldout"] or row["id"] in held
        q["test"] = q["test"] or row["id"] in test
    return out


def build_rows(heldout: bool, limit: int | None = None) -> list[dict[str, Any]]:
    """Dev rows (``heldout``: split.json's heldout_ids questions) or training-side rows (never test questions)."""
    rows: list[dict[str, Any]] = []
    for qi, q in sorted(questions().items()):
        if q["heldout"] == heldout and not q["test"]:
            rows += process_rows(f"gsm8k-q{qi}", q["question"], q["reference_solution"])
        if limit is not None and len(rows) >= limit:
            break
    return rows[:limit] if limit is not None else rows


def _write(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{path}: {len(rows)} solutions, {sum(r['label'] != -1 for r in rows)} erroneous")


def rule_scores(path: Path) -> dict[str, Any]:
    """The rule baseline's ProcessBench scores on a built file or folder."""
    bench = get_benchmark("processbench")
    evalset = bench.load(path, None)
    outcomes = [ScoreOutcome(it.id, 0, float(rule_first_error(it.metadata["steps"]))) for it in evalset.items]
    return score_benchmark(bench, evalset, outcomes, n_boot=1000, seed=0)


def separation(run_dir: Path, data: Path) -> dict[str, float]:
    """Mean P(correct) of the first wrong steps and of the steps before them, and the AUROC between the two."""
    gold = {it.id: int(str(it.label)) for it in get_benchmark("processbench").load(data, None).items}
    wrong, right = [], []
    for line in (run_dir / "results.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        label = gold[row["sample_id"]]
        for k, p in enumerate(row["extra"]["prm"]["step_probs"]):
            if p is not None and k == label:
                wrong.append(p)
            elif p is not None and (label == -1 or k < label):
                right.append(p)
    pairs = [(w, r) for w in wrong for r in right]
    auroc = sum((r > w) + 0.5 * (r == w) for w, r in pairs) / len(pairs)
    return {"wrong_steps": len(wrong), "mean_p_wrong": sum(wrong) / len(wrong), "correct_steps": len(right),
            "mean_p_correct": sum(right) / len(right), "auroc": auroc}


def _row(name: str, scores: dict[str, Any], hits: list[float], failures: int | str) -> str:
    m = scores["metrics"]

    def cell(key: str) -> str:
        ci = m[key].get("ci")
        return f"{m[key]['value']:.3f}" + (f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else "")

    lo, hi = wilson_interval(int(sum(hits)), len(hits))
    return (f"| {name} | {sum(hits) / len(hits):.3f} [{lo:.2f}, {hi:.2f}] | {cell('overall')} | "
            f"{cell('error_acc/gsm8k')} | {cell('correct_acc/gsm8k')} | {len(hits)} | {failures} |")


def table(out: Path) -> str:
    """Markdown: first-error accuracy and ProcessBench F1 of the rule, the raw and the trained judge (dev)."""
    bench = get_benchmark("processbench")
    runs = {name: out / "eval" / name for name in ("raw", "trained")}
    judged = {name: {json.loads(line)["sample_id"]: json.loads(line)
                     for line in (d / "results.jsonl").read_text(encoding="utf-8").splitlines()}
              for name, d in runs.items()}
    evalset = bench.load(out / "sets" / "heldout", None)
    items = [it for it in evalset.items if it.id in judged["raw"]]
    gold = {it.id: str(it.label) for it in items}
    rule = [float(str(rule_first_error(it.metadata["steps"])) == gold[it.id]) for it in items]
    sub = replace(evalset, items=tuple(items))  # the judged items only (the recipe's --limit)
    rule_s = score_benchmark(bench, sub, [ScoreOutcome(it.id, 0, float(rule_first_error(it.metadata["steps"])))
                                          for it in items], n_boot=1000, seed=0)
    lines = ["| judge | first-error accuracy | F1 (ProcessBench) | accuracy, erroneous | accuracy, correct | "
             "solutions | parse failures |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
             _row("rule: first wrong `<<…>>` recomputation", rule_s, rule, "–")]
    hits = {}
    for name, label in (("raw", "judgekit-135m, `-p prm` (raw)"), ("trained", "judgekit-135m + PRM LoRA, `-p prm`")):
        rows = judged[name]
        hits[name] = [float(rows[it.id]["verdict"] == gold[it.id]) for it in items]
        scores = json.loads((runs[name] / "scores.json").read_text(encoding="utf-8"))
        lines.append(_row(label, scores, hits[name], sum(bool(rows[it.id]["parse_failure"]) for it in items)))
    diff = paired_bootstrap(hits["trained"], hits["raw"], n_boot=2000, seed=0)
    ci = f"[{diff.ci[0]:+.3f}, {diff.ci[1]:+.3f}]" if diff.ci else "n/a"
    lines.append("")
    lines.append(f"Trained minus raw, first-error accuracy: {diff.diff:+.3f}, paired bootstrap 95% CI {ci} "
                 f"({'beyond' if diff.significant else 'not beyond'} its interval; n = {diff.n}).")
    return "\n".join(lines)


def balanced_slice(rows: list[dict[str, Any]], n: int, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` rows drawn with ``seed``: n/2 erroneous (label != -1) and the rest correct, in file order."""
    rng = random.Random(seed)
    bad = [i for i, r in enumerate(rows) if r["label"] != -1]
    good = [i for i, r in enumerate(rows) if r["label"] == -1]
    keep = rng.sample(bad, min(n // 2, len(bad)))
    keep += rng.sample(good, min(n - len(keep), len(good)))
    return [rows[i] for i in sorted(keep)]


def main(argv: list[str]) -> int:
    if len(argv) == 4 and argv[0] == "slice":
        src = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
        _write(Path(argv[2]), balanced_slice(src, int(argv[3])))
        return 0
    if len(argv) == 2 and argv[0] == "table":
        print(table(Path(argv[1])))
        return 0
    if len(argv) == 3 and argv[0] == "separation":
        print(json.dumps(separation(Path(argv[1]), Path(argv[2])), indent=1))
        return 0
    if len(argv) != 2 or argv[0] not in ("build", "rule", "fixture"):
        print(__doc__)
        return 2
    cmd, target = argv[0], Path(argv[1])
    if cmd == "build":
        _write(target / "train" / "gsm8k.json", build_rows(heldout=False))
        _write(target / "heldout" / "gsm8k.json", build_rows(heldout=True))
    elif cmd == "fixture":
        _write(target, build_rows(heldout=False, limit=6))
    else:
        scores = rule_scores(target)
        for key, m in scores["metrics"].items():
            print(f"{key:28s} {m['value']:.3f}  CI {m['ci']}  n={m['n']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
