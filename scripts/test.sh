#!/usr/bin/env bash
# The test command (README and .ci/run): installs what the tests need, then runs the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --test
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
# Static gates first (seconds): the layer contracts in pyproject.toml.
lint-imports --no-cache
exec ${PYTHON:-python3} -m pytest -q "$@"
