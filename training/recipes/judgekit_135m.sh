#!/usr/bin/env bash
# The shipped judge: data -> SFT (LoRA) -> verification-focus SFT (-> GRPO) for the embedded SmolLM2-135M,
# evaluated on held-out data.
#
#   bash training/recipes/judgekit_135m.sh                 # full recipe, CPU, resumable stage by stage
#   SHIP=1 bash training/recipes/judgekit_135m.sh          # ... then pack the adapter into judgekit/weights/
#   OUT=runs/r2 MAX=gsm8k=400,llmbar=100,hhh=60,pandalm=100 GRPO_STEPS=4 bash training/recipes/judgekit_135m.sh
#
# Stages (each skipped when its output exists; a killed SFT/GRPO resumes from its last checkpoint):
#  0. split      training/split.json: seeded held-out ids per source (grouped by question/prompt), in the repo
#  1. data       train/held-out files, Master-RM rows (training openers, never the probe keys), SFT rows:
#                every pair in both orders, half logit targets, half rule-written reasoning traces
#  2. eval base  held-out split of every source: logit mode (all items) and generative mode (first $GEN_LIMIT
#                items), both orders; master keys (10 bundled keys x first $KEY_ITEMS / $KEY_ITEMS_GEN held-out
#                GSM8K rows, logit / generative)
#  3. sft        training/sft.py with training/configs/cpu_judge_sft.yaml (LoRA r16, 110 steps of 8 rows)
#  4. eval sft
#  5. sft2       verification-focused SFT: a second LoRA over the merged SFT model on $OUT/data-focus/
#                sft_focus.jsonl (the data stage again with every GSM8K training item and rule-compare
#                traces, then `recipe_data.py focus`), training/configs/cpu_judge_sft_focus.yaml (120 steps,
#                batches of 2 grouped by length); with CURVE_SOURCES=gsm8k, a learning curve over its
#                checkpoints (training/recipe_curve.py)
#  6. eval sft2
#  7. grpo       training/grpo.py on GSM8K verification + Master-RM rows (verdict reward, strict format);
#                skipped when GRPO_STEPS=0 (the default: 6 steps over the first SFT measured no change)
#  8. eval grpo
#  9. table      training/recipe_table.py -> $OUT/table.md (+ json), each stage's wall time in $OUT/times.tsv
set -euo pipefail
cd "${JUDGEKIT_ROOT:-$(dirname "$0")/../..}"

OUT=${OUT:-runs/recipe}
SPLIT=${SPLIT:-training/split.json}
SEED=${SEED:-0}
MAX=${MAX:-gsm8k=900,llmbar=200,hhh=160,pandalm=300}   # training items per source (before augmentation)
MAX_CHARS=${MAX_CHARS:-2000}      # longest training item (prompt + responses, characters)
TRACE=${TRACE:-rule}
CROME=${CROME:-0}                 # Crome counterfactuals: off, they did not help on held-out (ablation_crome.sh, docs/judge_recipe.md)
GEN_LIMIT=${GEN_LIMIT:-24}
GEN_LIMIT_VERIFY=${GEN_LIMIT_VERIFY:-200}   # GSM8K generative: every held-out item (24 for sft/grpo of round 1)
EVAL_LIMIT=${EVAL_LIMIT:-}        # logit mode: empty = every held-out item (set only for smoke runs)
KEY_ITEMS=${KEY_ITEMS:-20}         # master keys, logit mode: 10 keys x first N held-out GSM8K rows
KEY_ITEMS_GEN=${KEY_ITEMS_GEN:-6}  # ... generative mode (decoding costs ~10x a logit judgment on this CPU)
SFT_CONFIG=${SFT_CONFIG:-training/configs/cpu_judge_sft.yaml}
SFT_OVERRIDES=${SFT_OVERRIDES:-}
FOCUS_MAX=${FOCUS_MAX:-gsm8k=2500,llmbar=200,hhh=160,pandalm=300}   # data for the focus stage (all GSM8K)
FOCUS_TRACE=${FOCUS_TRACE:-rule-compare}
FOCUS_MIX=${FOCUS_MIX:---logit 500 --generative 700 --pairwise 150}
FOCUS_CONFIG=${FOCUS_CONFIG:-training/configs/cpu_judge_sft_focus.yaml}
FOCUS_OVERRIDES=${FOCUS_OVERRIDES:-}
CURVE_SOURCES=${CURVE_SOURCES:-}   # e.g. gsm8k: logit-mode learning curve over sft2's checkpoints (off: ~5 min each)
GRPO_STEPS=${GRPO_STEPS:-0}
SOURCES=${SOURCES:-gsm8k llmbar hhh pandalm}
export PYTHONPATH=${PYTHONPATH:-.}
export JUDGEKIT_THREADS=${JUDGEKIT_THREADS:-2}   # evaluation: both cores (judgekit's default on <= 2 cores: both only when idle at start)
JK="python -m judgekit"
mkdir -p "$OUT"
stamp() { printf '%s\t%s\t%s\n' "$1" "$2" "$(( $(date +%s) - $3 ))" >> "$OUT/times.tsv"; }
skip() { [ -e "$1" ] && echo "   (done: $1 exists, skipped)"; }

echo "== 0. split ($SPLIT)"
skip "$SPLIT" || python training/recipe_data.py split --out "$SPLIT" --seed "$SEED"

echo "== 1. data"
t=$(date +%s)
crome_flag=""; [ "$CROME" = 1 ] && crome_flag="--crome"
skip "$OUT/data/data_report.json" || { python training/recipe_data.py data --split "$SPLIT" --out "$OUT/data" \
    --max "$MAX" --max-chars "$MAX_CHARS" --trace "$TRACE" --seed "$SEED" $crome_flag; stamp data all "$t"; }

evaluate() {  # evaluate NAME MODEL
  local name=$1 model=$2 t
  t=$(date +%s)
  for src in $SOURCES; do
    local proto=pairwise; [ "$src" = gsm8k ] && proto=verify
    local dir="$OUT/eval/$name/$src-logit"
    skip "$dir/summary.json" || $JK judge "$OUT/data/heldout_$src.jsonl" -p "$proto" --model "$model" \
        --method logit --seed "$SEED" ${EVAL_LIMIT:+--limit "$EVAL_LIMIT"} -o "$dir"
    dir="$OUT/eval/$name/$src-generative"
    local limit=$GEN_LIMIT; [ "$src" = gsm8k ] && limit=$GEN_LIMIT_VERIFY
    skip "$dir/summary.json" || $JK judge "$OUT/data/heldout_$src.jsonl" -p "$proto" --model "$model" \
        --limit "$limit" --max-new-tokens 48 --seed "$SEED" -o "$dir"
  done
  for method in logit generative; do
    local dir="$OUT/eval/$name/master-keys-$method" n=$KEY_ITEMS
    [ "$method" = generative ] && n=$KEY_ITEMS_GEN
    skip "$dir/probe.json" || $JK probe "$OUT/data/heldout_gsm8k.jsonl" -a master-keys -p verify --model "$model" \
        --method "$method" --limit "$n" --max-new-tokens 48 --seed "$SEED" -o "$dir"
  done
  [ $(( $(date +%s) - t )) -gt 2 ] && stamp "eval-$name" all "$t"
  return 0
}

echo "== 2. eval base"
evaluate base smollm2

echo "== 3. SFT"
t=$(date +%s)
skip "$OUT/sft/config.json" || { python training/sft.py --config "$SFT_CONFIG" train_file="$OUT/data/sft.jsonl" \
    output_dir="$OUT/sft" $SFT_OVERRIDES; stamp sft train "$t"; }

echo "== 4. eval SFT"
evaluate sft "$OUT/sft"

echo "== 5. SFT2 (verification focus)"
t=$(date +%s)
skip "$OUT/data-focus/sft_focus.jsonl" || { python training/recipe_data.py data --split "$SPLIT" --out "$OUT/data-focus" \
    --max "$FOCUS_MAX" --max-chars "$MAX_CHARS" --trace "$FOCUS_TRACE" --seed "$SEED" $crome_flag &&
  python training/recipe_data.py focus --data "$OUT/data-focus" --split "$SPLIT" --seed "$SEED" $FOCUS_MIX; }
skip "$OUT/sft2/config.json" || { python training/sft.py --config "$FOCUS_CONFIG" model="$OUT/sft" \
    train_file="$OUT/data-focus/sft_focus.jsonl" output_dir="$OUT/sft2" $FOCUS_OVERRIDES; stamp sft2 train "$t"; }
[ -z "$CURVE_SOURCES" ] || python training/recipe_curve.py "$OUT" --stage sft2 --base "$OUT/sft" --sources "$CURVE_SOURCES" \
    --seed "$SEED"

echo "== 6. eval SFT2"
evaluate sft2 "$OUT/sft2"

echo "== 7. GRPO ($GRPO_STEPS steps)"
grpo_flag=""
if [ "$GRPO_STEPS" -gt 0 ]; then
  t=$(date +%s)
  skip "$OUT/grpo/config.json" || { python training/grpo.py --config training/configs/cpu_judge_grpo.yaml \
      model="$OUT/sft2" train_files="[$OUT/data/train_gsm8k.jsonl]" output_dir="$OUT/grpo" \
      trainer.max_steps="$GRPO_STEPS"; stamp grpo train "$t"; }
  echo "== 8. eval GRPO"
  evaluate grpo "$OUT/grpo"
  grpo_flag="--grpo $OUT/grpo"
fi

echo "== 9. table"
python training/recipe_table.py "$OUT" | tee "$OUT/table.md"

if [ "${SHIP:-0}" = 1 ]; then
  echo "== 10. ship"
  python training/ship_judge.py --sft "$OUT/sft" --focus "$OUT/sft2" $grpo_flag --eval "$OUT/table.json" --split "$SPLIT"
fi
