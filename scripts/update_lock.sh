#!/usr/bin/env bash
# Refresh requirements.lock: resolve pyproject.toml's ranges afresh in a new venv, run the whole test suite
# there, and write the lock only if it passed.
#   bash scripts/update_lock.sh            # ~15 min to install (llama-cpp-python compiles), ~30 min of tests
#   KEEP_VENV=1 bash scripts/update_lock.sh
# Review the diff of requirements.lock before committing it (new majors, new packages).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
work=$(mktemp -d)
trap '[[ -n "${KEEP_VENV:-}" ]] || rm -rf "$work"' EXIT
$PY -m venv "$work/venv"
VPY="$work/venv/bin/python"
$VPY -m pip install -q --upgrade pip
# An empty constraints file: the ranges alone decide (torch is the CPU build of the newest allowed release).
: > "$work/none.txt"
$VPY -m pip install -q torch --index-url https://download.pytorch.org/whl/cpu 2>/dev/null || $VPY -m pip install -q torch
CLIPCITE_LOCK="$work/none.txt" PYTHON="$VPY" bash scripts/install.sh --test >/dev/null
$VPY scripts/lock.py write "$work/candidate.lock"
echo "testing the candidate set ($(grep -c '==' "$work/candidate.lock") pins)"
CLIPCITE_LOCK="$work/candidate.lock" PYTHON="$VPY" bash scripts/test.sh
cp "$work/candidate.lock" requirements.lock
echo "requirements.lock updated: review 'git diff requirements.lock' and commit it"
