#!/usr/bin/env bash
# Set up everything on a fresh machine and start the service on its embedded default (SQLite under ./var/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec uv run --frozen presales-allocator serve "$@"
