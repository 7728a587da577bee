#!/usr/bin/env bash
# Which command regenerates each table of numbers in README.md and docs/*.md, and (with --run) run them.
#
# Every measured table is preceded by a comment `<!-- numbers: COMMAND -->` naming the
# script or judgekit command that produced it (`none` for tables that measure nothing);
# tests/unit/test_readme_numbers.py checks that each README table has one and that every
# comment names something that exists.
#
#   scripts/docs_numbers.sh                 # list: FILE:LINE, command
#   scripts/docs_numbers.sh --run [REGEX]   # run the commands (matching REGEX), one after the other
#
# Running them all takes hours on a 2-core CPU (the training recipe alone ~80 min) and
# needs ../shared/data; paste the printed tables back into the page by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=list
if [[ "${1:-}" == "--run" ]]; then mode=run; shift; fi
pattern="${1:-.}"
grep -n -o '<!-- numbers: .* -->' README.md docs/*.md | while IFS= read -r hit; do
  where="${hit%%:<!--*}"
  cmd="${hit#*<!-- numbers: }"
  cmd="${cmd% -->}"
  [[ "$cmd" == none* ]] && continue
  [[ "$cmd" =~ $pattern ]] || continue
  if [[ "$mode" == list ]]; then
    printf '%s\t%s\n' "$where" "$cmd"
  else
    echo "== $where: $cmd" >&2
    bash -c "$cmd" </dev/null
  fi
done
