#!/usr/bin/env bash
# Long-RewardBench and RAG-RewardBench on the data obtainable here (the constructed fixtures in the
# published layouts: neither hub set can be downloaded in this environment), with the embedded
# models: raw SmolLM2-135M (`--model smollm2`), the trained `judgekit-135m` (default model), and
# the order-free PMI judge (`-p pmi`) on the raw model; judgekit-135m also in upstream's single
# order (`--single-order`; Long-RewardBench's best-of-N lists in upstream's one display order). Prints the tables of docs/benchmarks.md.
#
#   bash scripts/measure_long_rag.sh            # judge (resumes finished runs) and print the tables
#
# Runs go to runs/long-rag/; each eval is resumable. Measured on the shared 2-core machine:
# 1-2.5 minutes per run, 8 runs.
set -euo pipefail
cd "$(dirname "$0")/.."
export JUDGEKIT_THREADS="${JUDGEKIT_THREADS:-1}"
out=runs/long-rag
mkdir -p "$out"
LONG=tests/fixtures/benchmarks/longrewardbench
RAG=tests/fixtures/benchmarks/ragrewardbench/Dataset
run() {  # NAME BENCH PATH FLAGS...
  local name=$1 bench=$2 path=$3; shift 3
  [[ -f "$out/$name/scores.json" ]] && return 0
  python -m judgekit eval "$bench" "$path" "$@" -o "$out/$name" --no-report >"$out/$name.log" 2>&1
}
run long-smollm2 longrewardbench "$LONG" --model smollm2
run long-judgekit longrewardbench "$LONG" --model judgekit-135m
run long-pmi longrewardbench "$LONG" --model smollm2 -p pmi
run long-single longrewardbench "$LONG" --model judgekit-135m --single-order --option permutations=identity
run rag-smollm2 ragrewardbench "$RAG" --model smollm2
run rag-judgekit ragrewardbench "$RAG" --model judgekit-135m
run rag-pmi ragrewardbench "$RAG" --model smollm2 -p pmi
run rag-single ragrewardbench "$RAG" --model judgekit-135m --single-order
python - "$out" <<'EOF'
import json, sys
from pathlib import Path

from judgekit.evaluation.benchmarks import get_benchmark

out = Path(sys.argv[1])
JUDGES = [("smollm2", "SmolLM2-135M, both orders"), ("judgekit", "judgekit-135m, both orders"),
          ("single", "judgekit-135m, one order"), ("pmi", "SmolLM2-135M, -p pmi")]


def table(prefix, keys):
    bench = None
    head = "| metric | n | " + " | ".join(j for _, j in JUDGES) + " |"
    print(head)
    print("|" + "---|" * (len(JUDGES) + 2))
    scores = {k: json.loads((out / f"{prefix}-{k}" / "scores.json").read_text()) for k, _ in JUDGES}
    bench = get_benchmark(next(iter(scores.values()))["benchmark"])
    first = next(iter(scores.values()))
    items = [it for it in first["items"]]
    for key in keys:
        if key not in first["metrics"]:
            continue
        # n = the items behind this number (the scores' own n counts every item for non-subset keys)
        from judgekit.evaluation.benchmarks.base import ItemResult
        rs = [ItemResult.from_dict(d) for d in items]
        n = sum(1 for r in rs if key in bench.aggregate([r]))
        cells = []
        for k, _ in JUDGES:
            m = scores[k]["metrics"][key]
            lo, hi = m.get("wilson") or m["ci"]
            kind = "W" if m.get("wilson") else "b"
            cells.append(f"{m['value']:.3f} [{lo:.2f}, {hi:.2f}] {kind}")
        print(f"| {key} | {n} | " + " | ".join(cells) + " |")
    skip = [scores[k]["items_skipped"] for k, _ in JUDGES]
    ties = [scores[k]["diagnostics"].get("tie_rate") for k, _ in JUDGES]
    print(f"| items skipped (beyond the context) | | " + " | ".join(str(s) for s in skip) + " |")
    print(f"| pair tie rate | | " + " | ".join("-" if t is None else f"{t:.2f}" for t in ties) + " |")
    base = [scores[k]["baselines"] for k, _ in JUDGES]
    if all(base):  # a mixed pairwise + listwise run has no unit-level baselines
        print(f"| pair accuracy: judge / best content-blind baseline | | " + " | ".join(
            f"{b['judge']['accuracy']:.3f} / {b['baselines'][b['best_baseline']]['accuracy']:.3f} "
            f"({b['best_baseline']})" for b in base) + " |")
    print()


table("long", ["overall", "pairwise", "bestofn", "subset/LongQA", "subset/Safety", "subset/Cite", "same", "diff",
               "rank/3", "rank/4", "length/4k", "length/8k", "length/16k"])
table("rag", ["overall", "macro", "subset/reason", "subset/citation", "subset/abstain", "subset/conflict",
              "subset/helpful", "subset/harmless"])
EOF
