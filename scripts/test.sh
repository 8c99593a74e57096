#!/usr/bin/env bash
# The test command (README and .ci/run): installs what the tests need, then runs the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --test
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
# Static gates first (seconds), configured in pyproject.toml: layer contracts, lint, types.
${PYTHON:-python3} -c "from importlinter.cli import lint_imports_command; lint_imports_command(['--no-cache'])"
${PYTHON:-python3} -m ruff check .
${PYTHON:-python3} -m mypy
exec ${PYTHON:-python3} -m pytest -q "$@"
