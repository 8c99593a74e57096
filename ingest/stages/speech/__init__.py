"""Speech: faster-whisper transcription, then (optional) speaker labels from resemblyzer embeddings."""

from __future__ import annotations

import importlib.util
import logging
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from clipcite.domain import VideoInfo
from ingest.analysis import FileAnalysis
from ingest.readiness import Check
from ingest.stages.base import Reads, StageEnv, StageProgress, StageSpec
from ingest.stages.speech.rehear import REHEAR_VERSION, rehear
from ingest.stages.speech.speakers import DiarizationOptions, SpeakerDiarizer
from ingest.stages.speech.whisper import RoutedTranscriber, WhisperTranscriber, decode

log = logging.getLogger(__name__)


class SpeechStage:
    name = "speech"
    reads: Reads = "audio"
    adds = ("speech", "language")

    def __init__(self, transcriber: RoutedTranscriber, diarizer: SpeakerDiarizer | None = None,
                 screen_hints: bool = True) -> None:
        self.transcriber = transcriber
        self.diarizer = diarizer
        self.screen_hints = screen_hints

    def checks(self) -> list[Check]:
        out = [Check(f"speech ({m.options.model})", ("faster-whisper", "ctranslate2"), m.smoke)
               for m in self.transcriber.models]
        if self.diarizer is not None:
            out.append(Check("speakers", ("resemblyzer", "torch", "setuptools"), self.diarizer.smoke))
        return out

    def options(self) -> dict[str, Any]:
        opts: dict[str, Any] = {"speech": self.transcriber.route_key(),
                                "speakers": asdict(self.diarizer.options) if self.diarizer else None}
        if self.screen_hints:  # absent when off, so caches written before the option existed still hit
            opts["speech_screen_hints"] = REHEAR_VERSION
        return opts

    def run(self, path: Path, info: VideoInfo, out: FileAnalysis, progress: StageProgress) -> None:
        duration = max(info.duration_seconds, 1e-3)
        t0 = time.perf_counter()
        progress("speech", 0.0)
        result = self.transcriber.transcribe(path, on_progress=lambda t: progress("speech", 0.9 * t / duration))
        out.speech, out.language, out.languages = result.spans, result.language, list(result.languages)
        out.options["speech"] = result.options.to_dict()
        out.timings["speech"] = time.perf_counter() - t0
        if self.diarizer and out.speech:
            t0 = time.perf_counter()
            progress("speakers", 0.9)
            out.speech = self.diarizer.diarize(path, out.speech)
            out.timings["speakers"] = time.perf_counter() - t0
            out.options["speakers"] = asdict(self.diarizer.options)
        progress("speech", 1.0)

    def finish(self, path: Path, out: FileAnalysis) -> None:
        """Re-hear unsure utterances with the words on screen at the time (`rehear`)."""
        if not (self.screen_hints and out.speech and out.texts):
            return
        t0 = time.perf_counter()
        language = out.language
        changed = rehear(out.speech, out.texts, lambda: decode(path),
                         lambda audio, hints: self.transcriber.for_language(language).hear(audio, hints, language))
        out.timings["speech_screen_hints"] = time.perf_counter() - t0
        if changed:
            log.info("%s: %d utterances re-heard with the screen's words", path.name, changed)


def build(env: StageEnv) -> SpeechStage | None:
    s, th = env.settings, env.devices.stage_threads
    if not s.speech_enabled:
        return None
    english, multilingual = env.registry.whisper_plan(s.whisper_model, env.devices.device, s.whisper_language)

    def whisper(name: str | None) -> WhisperTranscriber | None:
        if name is None:
            return None
        return WhisperTranscriber(env.registry.resolve(name, "whisper"), name, device=env.devices.device,
                                  compute_type=env.devices.whisper_compute_type, threads=th.speech,
                                  language=s.whisper_language, batch_size=s.whisper_batch_size,
                                  beam_size=s.whisper_beam_size)

    transcriber = RoutedTranscriber(whisper(english), whisper(multilingual), s.whisper_language)
    diarizer = None
    if s.speakers_enabled:
        if importlib.util.find_spec("resemblyzer") is None:
            log.warning("speaker labels disabled: pip install resemblyzer 'setuptools<80' to enable them")
        else:
            diarizer = SpeakerDiarizer(DiarizationOptions(threshold=s.speaker_threshold), th.speech,
                                       env.devices.device)
    return SpeechStage(transcriber, diarizer, screen_hints=s.speech_screen_hints)


SPEC = StageSpec("speech", build, absent={"speech": None, "speakers": None})
