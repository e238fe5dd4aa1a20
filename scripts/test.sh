#!/usr/bin/env bash
# The README's test command: bootstrap, lint, then the default test run.
#   scripts/test.sh            default run (excludes slow and gpu tests)
#   scripts/test.sh --slow     also the slow tests;  extra args go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh

marker="not slow and not gpu"
args=()
for arg in "$@"; do
  if [ "$arg" = "--slow" ]; then marker="not gpu"; else args+=("$arg"); fi
done

.venv/bin/ruff check .
set +e
.venv/bin/python -m pytest -m "$marker" "${args[@]}"
code=$?
set -e
if [ $code -eq 5 ]; then
  echo "test.sh: pytest collected no tests: failing on purpose" >&2
  exit 1
fi
exit $code
