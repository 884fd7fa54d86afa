#!/usr/bin/env bash
# Browser tests: Debian's Chromium (apt-get, if missing) and the Python `playwright` package.
# Playwright drives /usr/bin/chromium through `executable_path`; `playwright install` is never run
# (it downloads browsers from the internet, which this project does not rely on).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PY:-$ROOT/.venv/bin/python}"

if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then
  SUDO=""
  if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
  echo "install-browser: installing Debian chromium (apt-get)" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi
/usr/bin/chromium --version >&2 || { echo "install-browser: /usr/bin/chromium does not run" >&2; exit 1; }

if ! "$PY" -c "import playwright" >/dev/null 2>&1; then
  echo "install-browser: installing the playwright Python package" >&2
  "$PY" -m pip install -q "playwright>=1.44"
fi
"$PY" -c "from importlib.metadata import version; print('playwright', version('playwright'))" >&2
