#!/usr/bin/env bash
# Measured rows of docs/benchmarks.md "PPE and Libra Bench": every judge on the files obtainable
# here (the constructed fixtures: the hub data could not be downloaded), then one table.
#   bash scripts/measure_ppe_libra.sh [RUNS_DIR]      (default runs/ppe_libra; finished runs are reused)
# Each run is a plain `judgekit eval`; the table is eval/ppe_libra_table.py over their scores.json.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-runs/ppe_libra}
FIX=tests/fixtures/benchmarks
export JUDGEKIT_THREADS=${JUDGEKIT_THREADS:-1}
run() {  # NAME BENCH PATH ARGS...
  local name=$1 bench=$2 path=$3; shift 3
  if [ -f "$RUNS/$name/scores.json" ]; then echo "reuse $name"; return; fi
  echo "run $name: judgekit eval $bench $path $*"
  python -m judgekit eval "$bench" "$path" "$@" -o "$RUNS/$name" --no-report --n-boot 1000 > /dev/null
}
# Libra Bench (verification items): reference shown (-p verify; hybrid = rules first, model alone) and
# Libra's own reference-free setting (-p commit-first: the judge answers first, then grades).
run libra-verify-hybrid librabench $FIX/librabench.jsonl -p verify --method logit
run libra-verify-model-135m librabench $FIX/librabench.jsonl -p verify --option verify_mode=model --method logit
run libra-verify-model-smollm2 librabench $FIX/librabench.jsonl -p verify --option verify_mode=model --method logit --model smollm2
run libra-commit-first-135m librabench $FIX/librabench.jsonl -p commit-first --method logit
run libra-commit-first-smollm2 librabench $FIX/librabench.jsonl -p commit-first --method logit --model smollm2
# PPE human preference (pairwise, both orders).
run ppe-human-135m ppe_human $FIX/ppe_human_preference_v1.jsonl -p pairwise --method logit
run ppe-human-smollm2 ppe_human $FIX/ppe_human_preference_v1.jsonl -p pairwise --method logit --model smollm2
run ppe-human-pmi ppe_human $FIX/ppe_human_preference_v1.jsonl -p pmi
# PPE correctness: pointwise scores give accuracy + best-of-K + AUC; pairwise judges the conflict pairs.
run ppe-correct-pointwise-135m ppe_correctness $FIX/ppe_correctness -p pointwise
run ppe-correct-pointwise-smollm2 ppe_correctness $FIX/ppe_correctness -p pointwise --model smollm2
run ppe-correct-pairwise-135m ppe_correctness $FIX/ppe_correctness -p pairwise --method logit
run ppe-correct-pmi ppe_correctness $FIX/ppe_correctness -p pmi
python eval/ppe_libra_table.py "$RUNS"
