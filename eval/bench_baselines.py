"""A benchmark run beside trivial judges: position-first, longer, shorter, constant.

Reads a finished ``judgekit eval`` run (its ``results.jsonl``, per protocol group),
rebuilds the same items with the benchmark's loader, re-scores the judge's recorded
verdicts and lets four content-blind judges answer the same items, all with the same
upstream rule (this checkout's code), and prints one markdown table:
each metric with the judge's value and every baseline's, Wilson or bootstrap
interval beside the judge's value.

    python eval/bench_baselines.py autoj DATA/autoj_testdata_pairwise.jsonl runs/autoj --limit 40

The baselines (pairwise items; pointwise / verify items get the analogous score):

* ``first``: always the response shown first (score falls with the position; with
  both orders judged it is never consistent, so inconsistent pairs resolve to a tie);
* ``longer`` / ``shorter``: the longer / shorter response by characters (equal: tie);
* ``constant``: always a tie (pointwise: one score for every candidate; verify: always ``correct``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # judgekit from this checkout, installed or not

from judgekit.evaluation.benchmarks import (  # noqa: E402
    EvalSet,
    Outcome,
    PairOutcome,
    ScoreOutcome,
    get_benchmark,
    outcomes_from_judgments,
    score_benchmark,
)

Pick = Callable[[str, str], str]
BASELINES: dict[str, tuple[Pick, Callable[[int, str], float]]] = {
    "first": (lambda a, b: "A", lambda i, c: -float(i)),
    "longer": (lambda a, b: "A" if len(a) > len(b) else "B" if len(b) > len(a) else "tie", lambda i, c: len(c)),
    "shorter": (lambda a, b: "A" if len(a) < len(b) else "B" if len(b) < len(a) else "tie", lambda i, c: -len(c)),
    "constant": (lambda a, b: "tie", lambda i, c: 0.0),
}


FLIP = {"A": "B", "B": "A", "tie": "tie"}


def baseline_outcomes(evalset: EvalSet, name: str, mode: str, both_orders: bool = True) -> list[Outcome]:
    """Every item answered by the content-blind judge ``name`` in the item's mode.

    Pairwise with ``both_orders`` (as the judge ran), each order is answered and an
    inconsistent pair resolves to a tie, as judgekit's default does: ``first`` is
    then never consistent.
    """
    pick, score = BASELINES[name]
    out: list[Outcome] = []
    for it in evalset.items:
        how = it.mode or mode
        if how == "verify":
            verdict = {"first": 1.0, "constant": 1.0, "longer": float(len(it.candidates[0]) > len(it.reference or "")),
                       "shorter": float(len(it.candidates[0]) <= len(it.reference or ""))}[name]
            out.append(ScoreOutcome(it.id, 0, verdict))
        elif how == "pointwise":
            out.extend(ScoreOutcome(it.id, i, score(i, c)) for i, c in enumerate(it.candidates))
        else:
            for c in it.comparisons:
                a, b = it.candidates[c.a], it.candidates[c.b]
                first = pick(a, b)
                if not both_orders:
                    out.append(PairOutcome(it.id, c.id, first, None, (first,)))
                    continue
                second = FLIP[pick(b, a)]  # the swapped order, read back in the original terms
                agree = first == second
                out.append(PairOutcome(it.id, c.id, first if agree else "tie", agree, (first, second)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("benchmark")
    ap.add_argument("path", type=Path)
    ap.add_argument("run", type=Path, help="the judgekit eval run directory (holds scores.json)")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--json", type=Path, default=None, help="also write every number here")
    args = ap.parse_args()
    bench = get_benchmark(args.benchmark)
    manifest = json.loads((args.run / "manifest.json").read_text(encoding="utf-8"))
    mode = (manifest.get("eval") or {}).get("mode", bench.default_mode)
    evalset = bench.load(args.path, args.limit)
    rows = [json.loads(line) for f in sorted(args.run.rglob("results.jsonl"))
            for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
    judge = score_benchmark(bench, evalset, outcomes_from_judgments(evalset.units(mode), rows), n_boot=200)
    judged = {d["item_id"] for d in judge["items"]}
    evalset = EvalSet(evalset.benchmark, tuple(it for it in evalset.items if it.id in judged), evalset.source)
    both = any(len(r.get("per_order") or ()) >= 2 for r in rows)
    base = {name: score_benchmark(bench, evalset, baseline_outcomes(evalset, name, mode, both), n_boot=200)["metrics"]
            for name in BASELINES}
    print(f"baselines judged {'both orders' if both else 'one order'} of each pair, as the judge was\n")
    print(f"| {bench.name} metric | n | judge | 95% interval | " + " | ".join(BASELINES) + " |")
    print("|---|---|---|---|" + "---|" * len(BASELINES))
    for key, m in judge["metrics"].items():
        ci = m.get("wilson") or m.get("ci")
        interval = f"[{ci[0]:.2f}, {ci[1]:.2f}]" + (" W" if m.get("wilson") else " b") if ci else "-"
        vals = [base[b].get(key, {}).get("value") for b in BASELINES]
        cells = " | ".join("-" if v is None else f"{v:.3f}" for v in vals)
        value = "-" if m.get("value") is None else f"{m['value']:.3f}"
        print(f"| {key} | {m.get('n')} | {value} | {interval} | {cells} |")
    if args.json:
        args.json.write_text(json.dumps({"judge": judge["metrics"], "baselines": base}, indent=2) + "\n",
                             encoding="utf-8")


if __name__ == "__main__":
    main()
