#!/usr/bin/env bash
# Set up everything the two README commands need: system packages (as root), .venv, pinned install.
# Idempotent and quick when nothing changed (a stamp records what was installed).
set -euo pipefail
cd "$(dirname "$0")/.."

SYSTEM_PACKAGES=(ffmpeg tesseract-ocr espeak-ng chromium)
SYSTEM_COMMANDS=(ffmpeg ffprobe tesseract espeak-ng chromium)
PYTHON=${PYTHON:-python3}

missing=()
for cmd in "${SYSTEM_COMMANDS[@]}"; do command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: installing system packages: ${SYSTEM_PACKAGES[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${SYSTEM_PACKAGES[@]}" >/dev/null
  else
    echo "bootstrap: missing system commands: ${missing[*]}" >&2
    echo "bootstrap: install them first, e.g.: sudo apt-get install -y ${SYSTEM_PACKAGES[*]}" >&2
    exit 1
  fi
fi

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "bootstrap: Python 3.11+ is required (found: $("$PYTHON" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2
  exit 1
fi

if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv"
  "$PYTHON" -m venv .venv || { echo "bootstrap: python venv failed (Debian: apt-get install python3-venv)" >&2; exit 1; }
fi

stamp=.venv/.ophora-installed
want=$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "bootstrap: installing pinned Python packages (first time: a few GB, several minutes)"
  .venv/bin/python -m pip install -q --upgrade pip wheel setuptools
  .venv/bin/python -m pip install -q -c constraints.txt -e ".[all,dev]"
  echo "$want" > "$stamp"
fi
