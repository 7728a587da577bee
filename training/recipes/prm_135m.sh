#!/usr/bin/env bash
# The PRM stage: judgekit-135m trained on rule-written first-error traces (GSM8K training side), then
# `-p prm` with the trained model vs the raw judgekit-135m vs the <<a*b=c>> rule on the dev questions.
#
#   bash training/recipes/prm_135m.sh                  # CPU, resumable stage by stage
#   OUT=runs/prm2 ROWS=240 STEPS=60 EVAL_LIMIT= bash training/recipes/prm_135m.sh
#
# Stages (each skipped when its output exists; a killed SFT resumes from its last checkpoint):
#  1. data     training/prm_sft.py: $ROWS rows from questions on the train side of training/split.json
#              (never dev heldout_ids, never test_ids), half correct, half with a first error by construction
#  2. dev set  eval/prm_gsm8k.py build: dev = the heldout_ids questions of training/split.json (100 solutions)
#  3. sft      training/sft.py with training/configs/cpu_prm_sft.yaml (LoRA r16, $STEPS steps of 4 rows)
#  4. eval     `judgekit eval processbench` on the dev file: raw judgekit-135m, the trained model; the rule
#  5. table    eval/prm_gsm8k.py table -> $OUT/table.md
set -euo pipefail
cd "${JUDGEKIT_ROOT:-$(dirname "$0")/../..}"

OUT=${OUT:-runs/prm_sft}
ROWS=${ROWS:-120}
STEPS=${STEPS:-30}
EVAL_LIMIT=${EVAL_LIMIT:-40}      # the first 40 dev solutions (20 questions, each correct + perturbed); empty: all 100
MAX_NEW=${MAX_NEW:-192}           # the rule-written traces run to 186 tokens (95th percentile 111)
export PYTHONPATH=${PYTHONPATH:-.}
export JUDGEKIT_THREADS=${JUDGEKIT_THREADS:-1}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}   # training: torch threads
JK="python -m judgekit"
mkdir -p "$OUT"
stamp() { printf '%s\t%s\n' "$1" "$(( $(date +%s) - $2 ))" >> "$OUT/times.tsv"; }
skip() { [ -e "$1" ] && echo "   (done: $1 exists, skipped)"; }

echo "== 1. data"
skip "$OUT/data.jsonl" || python training/prm_sft.py --out "$OUT/data.jsonl" --limit "$ROWS"

echo "== 2. dev set"
skip "$OUT/sets/heldout/gsm8k.json" || python eval/prm_gsm8k.py build "$OUT/sets"

echo "== 3. SFT"
t=$(date +%s)
skip "$OUT/model/config.json" || { python training/sft.py --config training/configs/cpu_prm_sft.yaml \
    train_file="$OUT/data.jsonl" output_dir="$OUT/model" trainer.max_steps="$STEPS"; stamp sft "$t"; }

echo "== 4. eval (dev)"
for pair in "raw judgekit-135m" "trained $OUT/model"; do
  set -- $pair
  t=$(date +%s)
  skip "$OUT/eval/$1/scores.json" || { $JK eval processbench "$OUT/sets/heldout" -p prm --model "$2" \
      --max-new-tokens "$MAX_NEW" --seed 0 ${EVAL_LIMIT:+--limit "$EVAL_LIMIT"} -o "$OUT/eval/$1"; stamp "eval-$1" "$t"; }
done

echo "== 5. table"
python eval/prm_gsm8k.py table "$OUT" | tee "$OUT/table.md"
