#!/usr/bin/env bash
# Set up everything on a fresh machine and run the checks: ruff, mypy, then the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
if [ -f scripts/browser.sh ]; then bash scripts/browser.sh; fi
uv run --frozen ruff check .
uv run --frozen ruff format --check .
uv run --frozen mypy
uv run --frozen pytest "$@"
