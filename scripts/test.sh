#!/usr/bin/env bash
# Installs what is missing, starts PostgreSQL and Redis if needed, checks the import layers
# (import-linter: the contracts in pyproject.toml), then runs the whole test suite.
# Extra arguments go to pytest. Exit status: lint-imports' when a contract is broken, else
# pytest's (5, "no tests collected", fails too).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
bash scripts/services.sh
.venv/bin/lint-imports --no-cache
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec .venv/bin/python -m pytest "$@"
