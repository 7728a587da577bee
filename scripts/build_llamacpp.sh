#!/usr/bin/env bash
# Build llama-cpp-python[server] once and install it (the HTTP backend's real-server tests).
#
#   scripts/build_llamacpp.sh [WHEEL_DIR]
#
# The wheel is compiled from source (about 6-9 minutes on 2 cores) into WHEEL_DIR
# (default: $JUDGEKIT_WHEEL_DIR or .ci/wheels); a later call finds it there and only
# installs it, so CI pays the build once per run (or once per cache, if WHEEL_DIR is
# kept between runs on the same CPU type: the build targets the host CPU).
set -euo pipefail
VERSION="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
WHEEL_DIR="${1:-${JUDGEKIT_WHEEL_DIR:-.ci/wheels}}"
mkdir -p "$WHEEL_DIR"
if ! ls "$WHEEL_DIR"/llama_cpp_python-"$VERSION"-*.whl >/dev/null 2>&1; then
  echo "building llama-cpp-python $VERSION into $WHEEL_DIR (takes minutes)" >&2
  start=$(date +%s)
  CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" \
    python -m pip wheel --no-deps "llama-cpp-python==$VERSION" -w "$WHEEL_DIR"
  echo "built in $(( $(date +%s) - start ))s" >&2
fi
python -m pip install --find-links "$WHEEL_DIR" "llama-cpp-python[server]==$VERSION"
python -c "import llama_cpp, llama_cpp.server; print('llama-cpp-python', llama_cpp.__version__)"
