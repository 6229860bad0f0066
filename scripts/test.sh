#!/usr/bin/env bash
# Installs what is missing, starts PostgreSQL and Redis if needed, runs the whole test suite.
# Extra arguments go to pytest. Exit status is pytest's (5, "no tests collected", fails too).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
bash scripts/services.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec .venv/bin/python -m pytest "$@"
