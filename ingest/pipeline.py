"""The per-file analysis: run the registered model stages (`ingest.stages`) over one file.

Model work depends only on the file and the stage options, so its result is cached per file in the
catalog (`options_key`); cutting it into a collection's segments and writing points is `ingest.indexing`.
Stages are optional: a disabled stage (or a file without audio) simply contributes nothing.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from clipcite.domain import VideoInfo
from ingest.analysis import FileAnalysis
from ingest.frames import iter_keyframes
from ingest.stages import STAGES, AudioStage, FrameRun, KeyframeStage, Stage
from ingest.stages.speech.whisper import forget_decoded

Progress = Callable[[str, float], None]
Advance = Callable[[str, str, float], None]

KEY_VERSION = 7  # bump to re-analyse every file (7: keyframes on settled text changes, word probabilities)


@dataclass
class Analyzer:
    """Composes the enabled stages: audio stages in order over the whole file, keyframe stages over one
    shared decode of the keyframes."""

    stages: Sequence[Stage] = field(default_factory=list)
    sample_fps: float = 2.0
    overlap: bool = False  # speech and keyframes at once (see analyze)

    @property
    def audio(self) -> list[AudioStage]:
        return [cast(AudioStage, s) for s in self.stages if s.reads == "audio"]

    @property
    def keyframe(self) -> list[KeyframeStage]:
        return [cast(KeyframeStage, s) for s in self.stages if s.reads == "keyframes"]

    def options_key(self) -> str:
        opts: dict[str, Any] = {}
        for spec in STAGES:
            opts.update(spec.absent)
        for stage in self.stages:
            opts.update(stage.options())
        opts.update({"fps": self.sample_fps, "v": KEY_VERSION})
        return hashlib.sha1(json.dumps(opts, sort_keys=True).encode()).hexdigest()[:16]

    def analyze(self, path: Path, info: VideoInfo, progress: Progress | None = None) -> FileAnalysis:
        """`progress(stage, fraction)` reports how far the whole analysis is (0..1), for live status.

        With `overlap`, the audio stages (speech: CTranslate2) run in a second thread while this one decodes
        keyframes and runs OCR and the detector (onnxruntime, OpenCV): different runtimes with their own
        thread budgets, so on two or more cores the slower of the two sets the pace instead of their sum."""
        report = progress or (lambda stage, frac: None)
        audio = self.audio if info.has_audio else []
        has_frames = bool(self.keyframe)
        # Rough shares of the work, from measured stage timings on CPU: speech about half, keyframes the rest.
        share = 0.5 if (audio and has_frames) else (1.0 if audio else 0.0)
        done = {"audio": 0.0, "frames": 0.0}
        lock = threading.Lock()

        def advance(part: str, stage: str, frac: float) -> None:
            with lock:
                done[part] = max(done[part], min(frac, 1.0))
                report(stage, share * done["audio"] + (1 - share) * done["frames"])

        out = FileAnalysis(video_info=info)
        heard = FileAnalysis(video_info=info)  # written by the audio thread only
        if audio and has_frames and self.overlap:
            with ThreadPoolExecutor(1, thread_name_prefix="speech") as pool:
                speech = pool.submit(self._audio, audio, path, info, heard, advance)
                try:
                    self._frames(path, info, out, advance)
                finally:
                    speech.result()
        else:
            if audio:
                self._audio(audio, path, info, heard, advance)
            if has_frames:
                self._frames(path, info, out, advance)
        out.merge(heard)
        try:
            for stage in audio:
                stage.finish(path, out)
        finally:
            forget_decoded()
        return out

    @staticmethod
    def _audio(stages: list[AudioStage], path: Path, info: VideoInfo, out: FileAnalysis, advance: Advance) -> None:
        try:
            for i, stage in enumerate(stages):
                def progress(label: str, frac: float, i: int = i) -> None:
                    advance("audio", label, (i + frac) / len(stages))

                stage.run(path, info, out, progress)
        finally:
            forget_decoded()  # the audio stages share one decode of the file; it is not kept past them

    def _frames(self, path: Path, info: VideoInfo, out: FileAnalysis, advance: Advance) -> None:
        """Decode keyframes once and hand each to every keyframe stage (some read it in their own threads)."""
        duration = max(info.duration_seconds, 1e-3)
        advance("frames", "frames", 0.0)
        t0 = time.perf_counter()
        stages = self.keyframe
        names = [s.name for s in stages]
        readers = [s.open(out, FrameRun(self.overlap, tuple(n for n in names if n != s.name))) for s in stages]
        count = 0
        previous = None
        busy = 0.0

        def read(kf, end: float) -> None:
            end = max(end, kf.time + 1e-3)
            for r in readers:
                r.read(kf.image, kf.time, end)

        try:
            # Streamed with a lag of one: a keyframe's content lasts until the next keyframe appears,
            # and only a few decoded images are held at a time, however long the video.
            for kf in iter_keyframes(path, sample_fps=self.sample_fps):
                if previous is not None:
                    read(previous, kf.time)
                    advance("frames", "frames", kf.time / duration)
                previous, count = kf, count + 1
            if previous is not None:
                read(previous, info.duration_seconds)
        finally:
            failures = []
            for r in readers:  # every reader is closed (its threads joined); the first failure is raised
                try:
                    busy += r.close()
                except BaseException as exc:  # noqa: BLE001 - re-raised below
                    failures.append(exc)
            if failures:
                raise failures[0]
        out.timings["frames"] = time.perf_counter() - t0 - busy
        out.options["keyframes"] = count
        advance("frames", "frames", 1.0)
