#!/usr/bin/env bash
# Self-distillation -> SFT -> GRPO for the embedded SmolLM2-135M judge on LLMBar, on CPU.
#
#   bash training/recipes/smollm2_llmbar.sh            # defaults below, about an hour on a free 2-core CPU
#   N_TRAIN=200 N_EVAL=100 SFT_STEPS=60 GRPO_STEPS=20 bash training/recipes/smollm2_llmbar.sh
#
# 1. split ../shared/data/llmbar by a fixed seed into train / held-out parts (disjoint ids);
# 2. measure the base model's position-consistent accuracy on the held-out part
#    (both orders, constrained generative verdicts; an inconsistent pair counts as a tie = wrong);
# 3. self-distil: k sampled traces per item and order, keep those matching the label in both orders;
# 4. SFT on the kept traces (completion-only loss), 5. a short GRPO with judgekit's verdict reward;
# 6. measure again with the trained checkpoint and print the before/after table.
# A re-run skips finished stages (judge runs also resume from the call cache); FRESH=1 redoes all.
set -euo pipefail
cd "$(dirname "$0")/../.."

DATA=${DATA:-../shared/data/llmbar/llmbar.jsonl}
OUT=${OUT:-runs/recipe-smollm2-llmbar}
SEED=${SEED:-0}
N_TRAIN=${N_TRAIN:-48}
N_EVAL=${N_EVAL:-40}
MAX_CHARS=${MAX_CHARS:-1200}    # keep items short so CPU runs stay small (prompt + both responses)
K=${K:-4}                       # distillation samples per item and order
MAX_NEW=${MAX_NEW:-64}
SFT_STEPS=${SFT_STEPS:-24}
GRPO_STEPS=${GRPO_STEPS:-8}
export PYTHONPATH=${PYTHONPATH:-.}
JK="python -m judgekit"
mkdir -p "$OUT"
if [ "${FRESH:-0}" = 1 ]; then rm -rf "$OUT"/{before,after-sft,after-grpo,sft,grpo,sft.jsonl,sft.report.json}; fi
done_() { [ -e "$1" ] && echo "   (done: $1 exists, skipped)"; }

echo "== 1. split (seed $SEED)"
python - "$DATA" "$OUT" "$SEED" "$N_TRAIN" "$N_EVAL" "$MAX_CHARS" <<'PY'
import json, random, sys
data, out, seed, n_train, n_eval, max_chars = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
rows = [json.loads(l) for l in open(data, encoding="utf-8") if l.strip()]
short = [r for r in rows if len(r["input"]) + len(r["output_1"]) + len(r["output_2"]) <= max_chars]
random.Random(seed).shuffle(short)
held, train = short[:n_eval], short[n_eval:n_eval + n_train]
assert not {r["id"] for r in held} & {r["id"] for r in train}
for name, part in (("heldout", held), ("train", train)):
    with open(f"{out}/{name}.jsonl", "w", encoding="utf-8") as fh:
        for r in part:
            fh.write(json.dumps({k: r[k] for k in ("id", "input", "output_1", "output_2", "label")}) + "\n")
print(f"{len(rows)} rows, {len(short)} within {max_chars} chars -> train {len(train)}, held-out {len(held)}")
PY

echo "== 2. baseline on the held-out part"
$JK judge "$OUT/heldout.jsonl" --max-new-tokens "$MAX_NEW" -o "$OUT/before"

echo "== 3. self-distillation (k=$K, rejection sampling in both orders)"
done_ "$OUT/sft.report.json" || $JK train distill "$OUT/train.jsonl" --samples "$K" --temperature 0.8 --max-new-tokens "$MAX_NEW" \
    --max-per-prompt 2 --out "$OUT/sft.jsonl"

echo "== 4. SFT ($SFT_STEPS steps)"
done_ "$OUT/sft/config.json" || python training/sft.py --config training/configs/cpu_tiny_sft.yaml \
    train_file="$OUT/sft.jsonl" output_dir="$OUT/sft" trainer.max_steps="$SFT_STEPS" \
    trainer.per_device_train_batch_size=2 trainer.learning_rate=2e-5 trainer.max_length=1024

echo "== 5. GRPO ($GRPO_STEPS steps)"
done_ "$OUT/grpo/config.json" || python training/grpo.py --config training/configs/cpu_tiny_grpo.yaml \
    model="$OUT/sft" train_files="[$OUT/train.jsonl]" limit=null output_dir="$OUT/grpo" \
    trainer.max_steps="$GRPO_STEPS" trainer.per_device_train_batch_size=4 trainer.num_generations=4 \
    trainer.max_completion_length="$MAX_NEW" trainer.learning_rate=1e-6 \
    'rewards=[{name: verdict, strict: true}]'

echo "== 6. after: SFT and SFT+GRPO checkpoints on the same held-out part"
$JK judge "$OUT/heldout.jsonl" --model "$OUT/sft" --max-new-tokens "$MAX_NEW" -o "$OUT/after-sft"
$JK judge "$OUT/heldout.jsonl" --model "$OUT/grpo" --max-new-tokens "$MAX_NEW" -o "$OUT/after-grpo"

python - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
report = json.load(open(f"{out}/sft.report.json"))
print(f"distillation kept {report['traces_kept']} of {report['traces']} traces "
      f"({report['items_kept']} of {report['items']} items)")
print("| model | held-out items | position-consistent accuracy | position consistency | parse failures |")
print("|---|---|---|---|---|")
for name in ("before", "after-sft", "after-grpo"):
    s = json.load(open(f"{out}/{name}/summary.json"))
    fmt = lambda v: "-" if v is None else f"{v:.3f}"
    print(f"| {name} | {s.get('judged')} | {fmt(s.get('accuracy'))} | {fmt(s.get('position_consistency'))} "
          f"| {fmt(s.get('parse_failure_rate'))} |")
PY
