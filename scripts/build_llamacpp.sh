#!/usr/bin/env bash
# Build llama-cpp-python[server] once and install it (the HTTP backend's real-server tests).
#
#   scripts/build_llamacpp.sh [WHEEL_DIR]
#
# The wheel is compiled from source (about 6-9 minutes on 2 cores) into WHEEL_DIR
# (default: $JUDGEKIT_WHEEL_DIR or .ci/wheels); a later call finds it there and only
# installs it, so CI pays the build once per run (or once per cache).
#
# The build is portable: GGML_NATIVE off, AVX/AVX2/FMA/F16C on, AVX-512 and AMX off.
# A native build compiles llama.cpp's AMX kernels on AMX CPUs, and those crash
# (general protection fault at `ldtilecfg` in libggml-cpu) on virtualized Sapphire /
# Granite Rapids machines; see docs/engines.md, "llama.cpp on AMX CPUs". Set
# CMAKE_ARGS to override. The wheel lands in a subfolder named after a hash of the
# flags, and pip runs with --no-cache-dir, so a wheel built with other flags (pip's
# cache ignores CMAKE_ARGS) is never picked up by mistake.
set -euo pipefail
VERSION="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
PORTABLE="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
export CMAKE_ARGS="${CMAKE_ARGS:-$PORTABLE}"
FLAGS_ID="$(printf '%s' "$CMAKE_ARGS" | sha256sum | cut -c1-12)"
WHEEL_DIR="${1:-${JUDGEKIT_WHEEL_DIR:-.ci/wheels}}/cmake-$FLAGS_ID"
mkdir -p "$WHEEL_DIR"
if ! ls "$WHEEL_DIR"/llama_cpp_python-"$VERSION"-*.whl >/dev/null 2>&1; then
  echo "building llama-cpp-python $VERSION into $WHEEL_DIR with CMAKE_ARGS=$CMAKE_ARGS (takes minutes)" >&2
  start=$(date +%s)
  CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" \
    python -m pip wheel --no-cache-dir --no-deps "llama-cpp-python==$VERSION" -w "$WHEEL_DIR"
  echo "built in $(( $(date +%s) - start ))s" >&2
fi
python -m pip install --no-cache-dir --force-reinstall --no-deps "$WHEEL_DIR"/llama_cpp_python-"$VERSION"-*.whl
python -m pip install --find-links "$WHEEL_DIR" "llama-cpp-python[server]==$VERSION"
python -c "import llama_cpp, llama_cpp.server; print('llama-cpp-python', llama_cpp.__version__); print(llama_cpp.llama_print_system_info().decode())"
# No AMX tile instructions may be left in the CPU backend (objdump, where installed).
LIB="$(python -c 'import llama_cpp, pathlib; print(pathlib.Path(llama_cpp.__file__).parent / "lib" / "libggml-cpu.so")')"
if command -v objdump >/dev/null 2>&1 && [ -f "$LIB" ]; then
  tiles=$(objdump -d "$LIB" | grep -cE 'ldtilecfg|tileloadd|tdpb[su]|tilezero' || true)
  echo "AMX tile instructions in $LIB: $tiles" >&2
  [ "$tiles" -eq 0 ] || { echo "error: this build has AMX kernels; see docs/engines.md, 'llama.cpp on AMX CPUs'" >&2; exit 1; }
fi
