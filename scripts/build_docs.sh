#!/usr/bin/env bash
# Build the documentation site with MkDocs + Material + mkdocstrings into site/.
#
# Installs the pinned tools into the current Python environment when they are missing
# (a few MB, pure Python), then runs `mkdocs build --strict`: with mkdocs.yml's
# `validation` block every broken link or anchor, a page missing from the nav and a
# docstring mkdocstrings cannot read is an error. API pages are read from the source
# (griffe, no import), so the build needs neither torch nor a model.
#
#   bash scripts/build_docs.sh            # build into site/
#   bash scripts/build_docs.sh serve      # live preview on http://127.0.0.1:8000
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python}"
export NO_MKDOCS_2_WARNING=1  # Material's end-of-life banner: noise in CI logs
PINS=("mkdocs==1.6.1" "mkdocs-material==9.8.1" "mkdocstrings==1.0.8" "mkdocstrings-python==2.0.11")
if ! "$PY" - <<'CHECK' 2>/dev/null; then
from importlib.metadata import version
want = {"mkdocs": "1.6.1", "mkdocs-material": "9.8.1", "mkdocstrings": "1.0.8", "mkdocstrings-python": "2.0.11"}
raise SystemExit(any(version(name) != v for name, v in want.items()))
CHECK
  "$PY" -m pip install -q "${PINS[@]}"
fi
if [[ "${1:-}" == "serve" ]]; then
  exec "$PY" -m mkdocs serve
fi
"$PY" -m mkdocs build --strict --clean
