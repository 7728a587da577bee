#!/usr/bin/env bash
# Build llama.cpp's C++ `llama-server` (parallel slots, continuous batching, GBNF) from a
# pinned source: the llama.cpp vendored in the llama-cpp-python 0.3.36 sdist (MIT), the
# same llama.cpp the `server` extra builds. Portable flags, as for llama-cpp-python
# (no AVX-512, no AMX: see docs/engines.md, "llama.cpp on AMX CPUs").
#
#   scripts/build_llama_server.sh [PREFIX]      -> PREFIX/bin/llama-server (default .ci/llama-server)
#
# The sdist is fetched from the package index pip uses and checked against its sha256 (or taken from
# LLAMA_CPP_SDIST=/path/to/llama_cpp_python-0.3.36.tar.gz). A second call with the
# same version and flags finds the binary and does nothing. On a shared machine:
#   LLAMA_SERVER_BUILD_DIR=/tmp/lls CMAKE_BUILD_PARALLEL_LEVEL=2 nice -n 19 scripts/build_llama_server.sh No network access at
# build time (no prebuilt web UI, no OpenSSL / curl).
set -euo pipefail
VERSION="0.3.36"
SHA256="832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e"
PORTABLE="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
FLAGS="${CMAKE_ARGS:-$PORTABLE}"
PREFIX="${1:-${JUDGEKIT_LLAMA_SERVER_DIR:-.ci/llama-server}}"
STAMP="llama-cpp-python $VERSION vendored llama.cpp; $FLAGS"
if [ -x "$PREFIX/bin/llama-server" ] && [ "$(cat "$PREFIX/BUILD" 2>/dev/null)" = "$STAMP" ]; then
  echo "$PREFIX/bin/llama-server is up to date" >&2
  exit 0
fi
# LLAMA_SERVER_BUILD_DIR keeps the extracted source and object files, so an interrupted
# build (a slow shared machine) resumes where it stopped; by default a temporary directory.
if [ -n "${LLAMA_SERVER_BUILD_DIR:-}" ]; then
  work="$LLAMA_SERVER_BUILD_DIR"
  mkdir -p "$work"
else
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
fi
sdist="${LLAMA_CPP_SDIST:-$work/llama_cpp_python-$VERSION.tar.gz}"
if [ ! -f "$sdist" ]; then
  # From the package index pip uses ($PIP_INDEX_URL or pip's configured index-url, else
  # PyPI): its simple API page lists the sdist; the sha256 below pins the bytes.
  index="${PIP_INDEX_URL:-$(pip config get global.index-url 2>/dev/null || true)}"
  python - "$VERSION" "$sdist" "${index:-https://pypi.org/simple}" <<'EOF'
import re, sys, urllib.parse, urllib.request
version, dest, index = sys.argv[1:]
page_url = index.rstrip("/") + "/llama-cpp-python/"
page = urllib.request.urlopen(page_url, timeout=60).read().decode()
name = f"llama_cpp_python-{version}.tar.gz"
links = [h for h in re.findall(r'href="([^"]+)"', page) if urllib.parse.urlsplit(h).path.endswith("/" + name)]
if not links:
    sys.exit(f"error: {name} is not listed on {page_url}")
url = urllib.parse.urljoin(page_url, links[0].replace("&amp;", "&"))
with urllib.request.urlopen(url, timeout=600) as resp, open(dest + ".part", "wb") as out:
    out.write(resp.read())
EOF
  mv "$sdist.part" "$sdist"
fi
echo "$SHA256  $sdist" | sha256sum -c --quiet - || { echo "error: $sdist is not the pinned sdist" >&2; exit 1; }
src="$work/llama_cpp_python-$VERSION/vendor/llama.cpp"
[ -f "$src/CMakeLists.txt" ] || tar -xzf "$sdist" -C "$work" "llama_cpp_python-$VERSION/vendor/llama.cpp"
start=$(date +%s)
# shellcheck disable=SC2086  # FLAGS is a list of -D options
cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release $FLAGS -DBUILD_SHARED_LIBS=OFF \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_APP=OFF -DLLAMA_BUILD_SERVER=ON \
  -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF >/dev/null
cmake --build "$work/build" --target llama-server -j "${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" >/dev/null
mkdir -p "$PREFIX/bin"
cp "$work/build/bin/llama-server" "$PREFIX/bin/llama-server"
cp "$src/LICENSE" "$PREFIX/LICENSE"
echo "$STAMP" > "$PREFIX/BUILD"
echo "built $PREFIX/bin/llama-server in $(( $(date +%s) - start ))s" >&2
if command -v objdump >/dev/null 2>&1; then
  tiles=$(objdump -d "$PREFIX/bin/llama-server" | grep -cE 'ldtilecfg|tileloadd|tdpb[su]|tilezero' || true)
  echo "AMX tile instructions in llama-server: $tiles" >&2
  [ "$tiles" -eq 0 ] || [ -n "${CMAKE_ARGS:-}" ] || { echo "error: AMX kernels in a portable build" >&2; exit 1; }
fi
"$PREFIX/bin/llama-server" --version 2>&1 | tail -2
