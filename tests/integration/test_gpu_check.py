"""The GPU check's dry run: the same steps on the CPU with tiny random-weight models of the real
architectures (Whisper through CTranslate2's converter, a Qwen2-shaped GGUF), so the script that runs on a
GPU machine is known to work before one is at hand."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration]
ROOT = Path(__file__).resolve().parents[2]


def test_the_gpu_check_runs_every_step_in_its_dry_run():
    pytest.importorskip("gguf")
    out = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_check.sh"), "--dry-run"], capture_output=True,
                         text=True, timeout=600, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads(out.stdout[out.stdout.index("{"):])
    assert report["device"] == "cpu"
    assert report["speech"]["speech_x_real_time"] > 0, report
    assert report["chat"]["prompt_tokens_per_s"] > 0 and report["chat"]["generated_tokens"] == 8, report
