#!/usr/bin/env bash
# A first run and a fully cached re-run of the README example, wall time and peak RSS of each
# (the table in docs/development.md). Uses a fresh judgekit cache unless JUDGEKIT_CACHE is set.
#
#   bash scripts/measure_cached_rerun.sh [FILE] [JUDGE FLAGS...]   # default: examples/pairs.jsonl -p pairwise
# (-p pairwise: the generative judge, 16 generations; the measured table predates pmi as the default)
set -euo pipefail
file="${1:-examples/pairs.jsonl}"
shift || true
flags=("$@")
[ ${#flags[@]} -gt 0 ] || flags=(-p pairwise)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export JUDGEKIT_CACHE="${JUDGEKIT_CACHE:-$work/cache}"
echo "| run of \`judgekit judge $file ${flags[*]}\` | wall time | peak RSS |"
echo "|---|---:|---:|"
for run in first re-run; do
  /usr/bin/time -f "%e %M" -o "$work/time" judgekit judge "$file" "${flags[@]}" -o "$work/$run" > "$work/$run.log" 2>&1
  read -r secs kb < "$work/time"
  grep -q '"loaded": false' "$work/$run/manifest.json" && note=" (no model loaded)" || note=""
  echo "| $run$note | ${secs} s | $(( kb / 1024 )) MB |"
done
