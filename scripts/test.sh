#!/usr/bin/env bash
# Runs the whole test suite after the same set-up as the app (plus the test tools).
# Extra arguments go to pytest, e.g. scripts/test.sh -k proxy
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
export PATH="$PWD/.venv/bin:$PATH"
ruff check .
# Type errors fail the run before the slow part (config in pyproject.toml; cache in .mypy_cache/).
python -m mypy
exec python -m pytest "$@"
