#!/usr/bin/env bash
# Install the project's pinned environment (.venv) from uv.lock. Needs only python3 and pip.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v uv >/dev/null 2>&1; then
    python3 -m pip install --quiet --disable-pip-version-check "uv==0.13.9"
fi
uv sync --frozen --quiet
