#!/usr/bin/env bash
# What a new user gets: a fresh clone of this repository's HEAD in a temporary folder (with
# ../shared beside it, as CI has), a fresh virtual environment, an empty judgekit cache, and
# the README's two commands run verbatim, each timed.
#
#   bash scripts/fresh_install_check.sh [--keep] [--only main|tests]
#
# --keep leaves the temporary folder for inspection; --only runs one of the two commands.
# Exit status: non-zero when either command fails. Run it before resolving anything that
# touches installation, pins or the README commands (it takes ~25 min on 2 cores: the
# llama.cpp builds and the whole test suite).
set -uo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
keep=0; only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --keep) keep=1 ;;
    --only) only="$2"; shift ;;
    *) echo "usage: $0 [--keep] [--only main|tests]" >&2; exit 2 ;;
  esac
  shift
done
work="$(mktemp -d /tmp/judgekit-fresh.XXXXXX)"
[ "$keep" = 1 ] || trap 'rm -rf "$work"' EXIT
git clone -q "$here" "$work/judgekit"
[ -d "$here/../shared" ] && ln -s "$(cd "$here/../shared" && pwd)" "$work/shared"
cd "$work/judgekit"
mapfile -t -d '' cmds < <(python3 - <<'PY'
import re, sys
text = open("README.md", encoding="utf-8").read()
blocks = re.findall(r"```bash\n(.+?)\n```", text, flags=re.DOTALL)[:2]
sys.stdout.write("\0".join(blocks) + "\0")
PY
)
names=(main tests)
status=0
export JUDGEKIT_CACHE="$work/cache"   # an empty cache: the first run prepares the model
echo "fresh clone of $(git -C "$here" rev-parse --short HEAD) in $work"
for i in 0 1; do
  name="${names[$i]}"
  [ -n "$only" ] && [ "$only" != "$name" ] && continue
  echo "== $name: ${cmds[$i]}"
  start=$(date +%s)
  # shellcheck disable=SC2086
  bash -c "${cmds[$i]}" > "$work/$name.log" 2>&1
  rc=$?
  secs=$(( $(date +%s) - start ))
  tail -n 15 "$work/$name.log"
  echo "== $name: exit $rc in ${secs} s (log: $work/$name.log)"
  [ "$rc" = 0 ] || status=1
done
exit $status
