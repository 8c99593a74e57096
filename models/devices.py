"""Device selection shared by every model: one answer to "cpu or cuda?" and how many threads."""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=1)
def cuda_available() -> bool:
    """CTranslate2 knows without importing torch; fall back to torch if it is installed."""
    try:
        import ctranslate2

        if ctranslate2.get_cuda_device_count() > 0:
            return True
    except Exception:  # noqa: BLE001 - any failure means no usable CUDA
        pass
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:  # noqa: BLE001
        return False


def usable_cores() -> int:
    """Cores this process may use: cgroup CPU quota first, then affinity, then os.cpu_count()."""
    try:
        with open("/sys/fs/cgroup/cpu.max") as fh:
            quota, period = fh.read().split()[:2]
        if quota != "max":
            return max(1, int(int(quota) / int(period)))
    except (OSError, ValueError):
        pass
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class StageThreads:
    """CPU threads per stage. Each runtime (CTranslate2, onnxruntime, OpenCV, torch, llama.cpp) grabs every
    core by default; when stages overlap they then fight, so each gets an explicit budget instead."""

    speech: int
    vision: int  # OCR + detector/classifier
    embed: int
    chat: int  # llama.cpp generating tokens
    chat_batch: int = 1  # llama.cpp evaluating a prompt (one large batch)

    @classmethod
    def plan(cls, cores: int, override: int | None = None) -> StageThreads:
        """`override` (CLIPCITE_THREADS) sets every stage. Otherwise: up to 2 cores, one thread each for
        the stages that overlap during ingest (llama.cpp generating with 2 threads on 2 vCPUs beside an
        ingest ran 4-40x slower than with 1), but every core for the prompt evaluation, which is one large
        matrix batch (measured on 2 vCPUs: 50 -> 103 prompt tokens/s, Qwen2.5 1.5B Q4_K_M); above 2 cores,
        speech and vision overlap during ingest and split the cores, and chat gets half of them."""
        if override is not None:
            return cls(override, override, override, override, override)
        if cores <= 2:
            return cls(1, 1, 1, 1, cores)
        half = max(1, cores // 2)
        return cls(speech=half, vision=max(1, cores - half), embed=max(1, cores // 4), chat=half, chat_batch=half)


@dataclass(frozen=True)
class DevicePlan:
    device: str  # "cpu" | "cuda"
    threads: int
    stages: StageThreads | None = None

    @property
    def stage_threads(self) -> StageThreads:
        return self.stages or StageThreads.plan(1, self.threads)

    @property
    def whisper_compute_type(self) -> str:
        return "float16" if self.device == "cuda" else "int8"

    def llama_gpu_layers(self, configured: int | None) -> int:
        if configured is not None:
            return configured
        return -1 if self.device == "cuda" else 0


def plan_devices(setting: str, threads: int | None) -> DevicePlan:
    """`threads=None`: budgets from the usable cores (cgroup quota aware); a number applies to every stage."""
    device = setting
    if setting == "auto":
        device = "cuda" if cuda_available() else "cpu"
    elif setting == "cuda" and not cuda_available():
        log.warning("device=cuda requested but no CUDA device is usable; running on cpu")
        device = "cpu"
    cores = usable_cores()
    stages = StageThreads.plan(cores, threads)
    log.info("device %s, %d usable cores, threads per stage: %s", device, cores, stages)
    return DevicePlan(device=device, threads=threads or stages.speech, stages=stages)
