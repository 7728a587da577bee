#!/usr/bin/env bash
# A new user's first five minutes, replayed: a fresh venv, the README's install + main
# command, an empty judgekit cache, a terminal (so the progress bar draws as it would).
# Prints how long the install and the first run took, and the run's terminal output
# without colours or the bar's redraws (one bar line: the last one).
#
#   bash scripts/first_five_minutes.sh [WORKDIR]     # default: a new temporary directory
#
# Needs python3 -m venv, `script` (util-linux) and the package index; downloads torch.
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-$(mktemp -d)}"
mkdir -p "$work/src"
git archive HEAD | tar -x -C "$work/src"     # the committed tree, as a clone would have it
python3 -m venv "$work/venv"
install_cmd=$(sed -n '/^```bash$/{n;p;q}' README.md)    # the README's first command, verbatim
install_cmd="${install_cmd% && judgekit judge examples/pairs.jsonl}"
run_cmd="judgekit judge examples/pairs.jsonl"
cd "$work/src"
# shellcheck disable=SC1091
source "$work/venv/bin/activate"
export JUDGEKIT_CACHE="$work/cache"
start=$(date +%s)
bash -c "$install_cmd" > "$work/install.log" 2>&1
echo "install: $(( $(date +%s) - start )) s  ($install_cmd)"
start=$(date +%s)
COLUMNS=100 script -f -q -c "$run_cmd" "$work/run.log" > /dev/null
echo "first run: $(( $(date +%s) - start )) s  ($run_cmd, empty cache)"
echo "--- terminal output ---"
plain=$(sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' "$work/run.log" | tr '\r' '\n' | grep -v '^Script \(started\|done\)' | grep -v '^\s*$')
bar=$(grep '^judging ' <<<"$plain" | tail -1 || true)
grep -v '^judging ' <<<"$plain" | sed "/judgekit summary/i $bar"
