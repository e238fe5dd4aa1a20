#!/usr/bin/env bash
# The README's test command: bootstrap, lint, the default test run, then the mutation check.
#   scripts/test.sh                  default run (excludes slow and gpu tests) + scripts/mutations.py
#   scripts/test.sh --slow           also the slow tests
#   scripts/test.sh --gpu            only the CUDA tests (tests/gpu, marker gpu); they skip without a GPU
#   scripts/test.sh --no-mutations   skip the mutation check
#   scripts/test.sh --mutations      run the mutation check even with extra pytest arguments
# Extra arguments go to pytest; a run narrowed by them skips the mutation check unless --mutations.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh

marker="not slow and not gpu"
mutations=auto
args=()
for arg in "$@"; do
  case "$arg" in
    --slow) marker="not gpu" ;;
    --gpu) marker="gpu"; mutations=no ;;
    --no-mutations) mutations=no ;;
    --mutations) mutations=yes ;;
    *) args+=("$arg") ;;
  esac
done
if [ "$mutations" = auto ]; then
  if [ ${#args[@]} -eq 0 ]; then mutations=yes; else mutations=no; fi
fi

.venv/bin/ruff check .
if [ "$marker" = gpu ] && ! .venv/bin/python -c "import torch, sys; sys.exit(not torch.cuda.is_available())"; then
  echo "test.sh --gpu: no CUDA device visible to torch; the gpu tests will skip" >&2
fi
mkdir -p test-artifacts
outcomes=test-artifacts/test-outcomes.json
rm -f "$outcomes"
set +e
# `-p mutations` (scripts/mutations.py as a plugin) records each test's outcome: the mutation check's baseline.
PYTHONPATH="scripts${PYTHONPATH:+:$PYTHONPATH}" MUTATION_REPORT="$outcomes" \
  .venv/bin/python -m pytest -p mutations -m "$marker" "${args[@]}"
code=$?
set -e
if [ $code -eq 5 ]; then
  echo "test.sh: pytest collected no tests: failing on purpose" >&2
  exit 1
fi
if [ $code -ne 0 ] || [ "$mutations" = no ]; then
  exit $code
fi
# Each deliberate breakage in tests/mutations.yaml must make its named tests fail (in temporary copies).
.venv/bin/python scripts/mutations.py --baseline "$outcomes" --json test-artifacts/mutations.json
