#!/usr/bin/env bash
# CLI start-up cost (the table in docs/development.md): what `import judgekit.cli` costs
# (python -X importtime), and the median wall and CPU (user + sys) time of `--help`,
# `judge --help` and a fake-backend judge of 4 items (first run, then a fully cached
# re-run), over REPEATS runs. Runs the judgekit of the current directory
# (python -m judgekit), with a fresh call cache. To compare two versions, run it from
# both checkouts on the same machine at the same time (a busy machine inflates wall times).
#
# With REAL_CACHE set to a judgekit cache whose call cache already answers every call of
# `judgekit judge examples/pairs.jsonl --limit 4` (the default judge; its models/ may be a
# link to the converted models), a row for that fully cached re-run is added; it must not
# load the model (the manifest says "loaded": false).
#
#   bash scripts/measure_cli_startup.sh [REPEATS]      # default 5
set -euo pipefail
repeats="${1:-5}"
py="${PYTHON:-python}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export JUDGEKIT_CACHE="$work/cache" JUDGEKIT_FAKE_BACKEND=1  # the fake backend: no model, only the CLI's own cost
mkdir -p "$JUDGEKIT_CACHE"

median() {  # the median of the numbers on stdin
  sort -g | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.2f", m}'
}

timed() {  # one run of "$@" (output discarded; a failure stops the script): appends "wall cpu" to $work/times
  /usr/bin/time -f "%e %U %S" -o "$work/t" "$@" > /dev/null 2>&1
  awk '{printf "%s %.2f\n", $1, $2 + $3}' "$work/t" >> "$work/times"
}

medians() {  # "wall s | cpu s" medians of $work/times, which it then empties
  echo "$(cut -d' ' -f1 "$work/times" | median) s | $(cut -d' ' -f2 "$work/times" | median) s"
  : > "$work/times"
}

wall() {  # medians of "$@" over $repeats runs
  for _ in $(seq "$repeats"); do timed "$@"; done
  medians
}

# -X importtime: cumulative microseconds of the judgekit.cli import (the last line naming it).
"$py" -X importtime -c "import judgekit.cli" 2> "$work/imports"
cli_us=$(grep -E '\| judgekit\.cli$' "$work/imports" | tail -1 | awk -F'|' '{gsub(/ /,"",$2); print $2}')
n_mod=$(grep -c '^import time:' "$work/imports")
"$py" -X importtime -c "import judgekit" 2> "$work/imports_pkg"
pkg_us=$(grep -E '\| judgekit$' "$work/imports_pkg" | tail -1 | awk -F'|' '{gsub(/ /,"",$2); print $2}')

example=examples/pairs.jsonl
fake=(judge "$example" --backend fake --limit 4)
"$py" -m judgekit "${fake[@]}" -o "$work/warm" > /dev/null 2>&1  # fill the call cache (and the OS file cache)
for _ in $(seq "$repeats"); do
  rm -rf "$JUDGEKIT_CACHE/calls.sqlite"* "$work/run"
  timed "$py" -m judgekit "${fake[@]}" -o "$work/run"
done
first=$(medians)
"$py" -m judgekit "${fake[@]}" -o "$work/warm2" > /dev/null 2>&1
for _ in $(seq "$repeats"); do
  rm -rf "$work/run"
  timed "$py" -m judgekit "${fake[@]}" -o "$work/run"
done
rerun=$(medians)

real=""
if [[ -n "${REAL_CACHE:-}" ]]; then
  for _ in $(seq "$repeats"); do
    rm -rf "$work/real"
    JUDGEKIT_CACHE="$REAL_CACHE" JUDGEKIT_FAKE_BACKEND= timed "$py" -m judgekit judge "$example" --limit 4 -o "$work/real"
    grep -q '"loaded": false' "$work/real/manifest.json" || { echo "REAL_CACHE did not answer every call" >&2; exit 1; }
  done
  real=$(medians)
fi

echo "| what (wall and CPU: median of $repeats runs) | wall | CPU |"
echo "|---|---:|---:|"
echo "| \`import judgekit.cli\` (-X importtime, cumulative; $n_mod modules) | $(awk "BEGIN{printf \"%.2f\", $cli_us/1e6}") s | |"
echo "| \`import judgekit\` (-X importtime, cumulative) | $(awk "BEGIN{printf \"%.3f\", $pkg_us/1e6}") s | |"
echo "| \`python -m judgekit --help\` | $(wall "$py" -m judgekit --help) |"
echo "| \`python -m judgekit judge --help\` | $(wall "$py" -m judgekit judge --help) |"
echo "| \`python -m judgekit judge $example --backend fake --limit 4\`, empty call cache | $first |"
echo "| the same, fully cached re-run (new run directory) | $rerun |"
if [[ -n "$real" ]]; then
  echo "| \`python -m judgekit judge $example --limit 4\` (default judge), fully cached re-run, no model loaded | $real |"
fi
