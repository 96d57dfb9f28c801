#!/usr/bin/env bash
# Set up everything on a fresh machine and run the checks: ruff, mypy, then the test suite.
# pytest runs one pytest-xdist worker per core (pyproject's addopts) with hypothesis' "dev" profile, which
# bounds the property tests (tests/conftest.py); CI sets HYPOTHESIS_PROFILE=ci for full strength. Arguments
# go to pytest: `bash scripts/test.sh -n 0` runs the suite serially, `HYPOTHESIS_PROFILE=full bash
# scripts/test.sh` runs every property at full strength.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
if [ -f scripts/browser.sh ]; then bash scripts/browser.sh; fi
uv run --frozen ruff check .
uv run --frozen ruff format --check .
uv run --frozen mypy
uv run --frozen pytest "$@"
