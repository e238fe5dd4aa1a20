#!/usr/bin/env bash
# The README's demo command: bootstrap, then the offline demo pipeline end to end.
#   scripts/demo.sh [--workdir DIR] [--fresh] ...   (arguments go to `ophora-data demo`)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec .venv/bin/ophora-data demo "$@"
