#!/usr/bin/env bash
# Installs dnahpo and everything its tests need into ./.venv, on a fresh Debian/Ubuntu machine.
#   bash scripts/install.sh            # Python packages + system packages (when root with apt-get)
#   DNAHPO_SKIP_SYSTEM=1 bash scripts/install.sh   # Python packages only
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
# System packages: PostgreSQL for the distributed-study tests, BLAST+ and the rRNA data to
# rebuild the bundled data set, Chromium to check the MLflow UI in a real browser.
SYSTEM_PACKAGES="postgresql ncbi-blast+ ncbi-rrna-data chromium"

if [ -z "${DNAHPO_SKIP_SYSTEM:-}" ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "== installing system packages: $SYSTEM_PACKAGES"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $SYSTEM_PACKAGES >/dev/null
  else
    echo "== not root or no apt-get: install these yourself if you need them: $SYSTEM_PACKAGES"
  fi
fi

if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
# torch first and pinned: the 2.13.0 CPU wheel; an open range would pull a multi-GB CUDA build.
# On a GPU machine, install the torch build for your CUDA first; this line then changes nothing.
.venv/bin/python -c "import torch" 2>/dev/null || .venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -e ".[dev]"
echo "== installed: $(.venv/bin/hpo --version)"
