#!/usr/bin/env bash
# Held-out ablation of the recipe's Crome counterfactuals (issue: "keep them on by default
# only if they help on the held-out split"). Two arms, identical but for `--crome`:
#   lora        the recipe's data stage, Crome off (its default)
#   lora-crome  the same data stage with Crome's causal + neutral augmentations added
# Each arm: LoRA SFT from the embedded SmolLM2-135M (training/configs/cpu_judge_sft.yaml,
# STEPS steps of 8 rows, same seed), then logit-mode evaluation of every held-out item of
# every source (both orders); the base model's held-out runs are reused from $BASE_EVAL when
# present (the same `judgekit judge` commands as the recipe's stage 2), else run here.
#
#   STEPS=40 bash training/recipes/ablation_crome.sh       # -> runs/ablation/table.md (~50 min on 2 cores)
#
# Resumable: a finished stage (its output file exists) is skipped.
set -euo pipefail
cd "${JUDGEKIT_ROOT:-$(dirname "$0")/../..}"

OUT=${OUT:-runs/ablation}
SPLIT=${SPLIT:-training/split.json}
SEED=${SEED:-0}
STEPS=${STEPS:-40}
MAX=${MAX:-gsm8k=900,llmbar=200,hhh=160,pandalm=300}
MAX_CHARS=${MAX_CHARS:-2000}
BASE_EVAL=${BASE_EVAL:-runs/recipe/eval/base}
SOURCES=${SOURCES:-gsm8k llmbar hhh pandalm}
export PYTHONPATH=${PYTHONPATH:-.}
export JUDGEKIT_THREADS=${JUDGEKIT_THREADS:-2}
JK="python -m judgekit"
mkdir -p "$OUT/eval"
stamp() { printf '%s\t%s\t%s\n' "$1" "$2" "$(( $(date +%s) - $3 ))" >> "$OUT/times.tsv"; }
skip() { [ -e "$1" ] && echo "   (done: $1 exists, skipped)"; }

evaluate() {  # evaluate NAME MODEL
  local name=$1 model=$2 src proto dir
  for src in $SOURCES; do
    proto=pairwise; [ "$src" = gsm8k ] && proto=verify
    dir="$OUT/eval/$name/$src-logit"
    if [ "$name" = base ] && [ -f "$BASE_EVAL/$src-logit/summary.json" ] && [ ! -e "$dir" ]; then
      mkdir -p "$OUT/eval/base" && cp -r "$BASE_EVAL/$src-logit" "$dir"
    fi
    skip "$dir/summary.json" || $JK judge "$OUT/data/heldout_$src.jsonl" -p "$proto" --model "$model" \
        --method logit --seed "$SEED" -o "$dir"
  done
}

for arm in lora lora-crome; do
  data="$OUT/data"; flag=""
  [ "$arm" = lora-crome ] && { data="$OUT/data-crome"; flag="--crome"; }
  echo "== $arm: data ($data)"
  # shellcheck disable=SC2086  # flag is empty or one option
  skip "$data/data_report.json" || python training/recipe_data.py data --split "$SPLIT" --out "$data" \
      --max "$MAX" --max-chars "$MAX_CHARS" --trace rule --seed "$SEED" $flag
  echo "== $arm: SFT, $STEPS steps"
  t=$(date +%s)
  skip "$OUT/$arm/config.json" || { python training/sft.py --config training/configs/cpu_judge_sft.yaml \
      train_file="$data/sft.jsonl" output_dir="$OUT/$arm" trainer.max_steps="$STEPS"; \
      stamp "sft-$arm" train "$t"; }
  echo "== $arm: held-out evaluation (logit)"
  t=$(date +%s)
  evaluate "$arm" "$OUT/$arm"
  stamp "eval-$arm" all "$t"
done
# The held-out files are the same for both arms (the split decides them, not --crome).
for src in $SOURCES; do cmp -s "$OUT/data/heldout_$src.jsonl" "$OUT/data-crome/heldout_$src.jsonl" ||
  { echo "error: held-out $src differs between the arms" >&2; exit 1; }; done
echo "== base: held-out evaluation (logit)"
evaluate base smollm2
python training/recipe_table.py "$OUT" --models base,lora,lora-crome | tee "$OUT/table.md"
