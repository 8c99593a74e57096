"""Audio description: non-speech sound events (YAMNet), beside speech in the audio thread."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from clipcite.domain import VideoInfo
from clipcite.errors import ModelUnavailable
from ingest.analysis import FileAnalysis
from ingest.readiness import Check, tiny_audio
from ingest.stages.audio.yamnet import YamnetTagger
from ingest.stages.base import Reads, StageEnv, StageProgress, StageSpec
from ingest.stages.speech.whisper import decode

log = logging.getLogger(__name__)


class AudioEventStage:
    name = "audio_description"
    reads: Reads = "audio"
    adds = ("sounds",)

    def __init__(self, tagger: YamnetTagger) -> None:
        self.tagger = tagger

    def checks(self) -> list[Check]:
        def run() -> str:
            self.tagger.events(tiny_audio())
            return str(self.tagger.model_dir)

        return [Check(self.name, ("onnxruntime", "onnx"), run)]

    def options(self) -> dict[str, Any]:
        return {"audio_description": {"model": "yamnet-w8a8", "threshold": self.tagger.threshold,
                                      "min_score": self.tagger.min_score}}

    def run(self, path: Path, info: VideoInfo, out: FileAnalysis, progress: StageProgress) -> None:
        t0 = time.perf_counter()
        progress("audio_description", 0.0)
        out.sounds = self.tagger.events(decode(path))
        out.timings["audio_description"] = time.perf_counter() - t0
        progress("audio_description", 1.0)

    def finish(self, path: Path, out: FileAnalysis) -> None:
        """Sound events need nothing from the other stages."""


def build(env: StageEnv) -> AudioEventStage | None:
    s = env.settings
    if not s.audio_description_enabled:
        return None
    try:
        model_dir = env.registry.resolve("yamnet", "audio")
    except ModelUnavailable as exc:  # an optional model: ingest goes on without sound events
        log.warning("audio descriptions disabled: %s", exc)
        return None
    return AudioEventStage(YamnetTagger(model_dir, threads=env.devices.stage_threads.speech))


SPEC = StageSpec("audio_description", build)
