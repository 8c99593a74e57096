#!/usr/bin/env bash
# The GPU check (scripts/gpu_check.py): Whisper and a Qwen2-shaped chat model, random weights of the real
# shapes, on CUDA: speech x real time, prompt and generation tokens/s, peak GPU memory. No network.
#   bash scripts/gpu_check.sh [--dry-run] [--whisper small] [--wheels DIR]
# --wheels DIR: Python wheels to install first into a private folder (the GPU box has no registry): e.g.
# ctranslate2, faster-whisper, av, gguf and a CUDA build of llama-cpp-python (scripts/bundle_offline.sh with
# LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_CUDA=on" builds one). A missing package skips its step.
# Times out after 8 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
args=()
wheels=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --wheels) wheels="$2"; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
if [[ -n "$wheels" ]]; then
  site=$(mktemp -d)
  $PY -m pip install -q --no-index --no-deps --target "$site" "$wheels"/*.whl
  export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
fi
command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
exec timeout 480 $PY scripts/gpu_check.py "${args[@]}"
