"""Scene text: OCR of each keyframe (RapidOCR), inline or, beside the visual describer while speech
overlaps, in its own worker threads behind a short queue."""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

import numpy as np

from clipcite.domain import FrameText
from ingest.analysis import FileAnalysis
from ingest.readiness import Check, tiny_frame
from ingest.stages.base import FrameReader, FrameRun, InlineTimer, Reads, StageEnv, StageSpec
from ingest.stages.scene_text.ocr import RapidOcrReader, SceneTextReader


class SceneTextStage:
    name = "ocr"
    reads: Reads = "keyframes"
    adds = ("texts",)

    def __init__(self, reader: SceneTextReader, workers: int = 1) -> None:
        self.reader = reader
        self.workers = workers  # keyframes read at once when overlapping (the reader needs as many engines)

    def checks(self) -> list[Check]:
        def run() -> str:
            self.reader.read(tiny_frame(text=True))
            return f"detector side {getattr(self.reader, 'det_side', '?')}"

        return [Check(self.name, ("rapidocr", "onnxruntime", "opencv-python-headless"), run)]

    def options(self) -> dict[str, Any]:
        return {"ocr": f"{type(self.reader).__name__}:{getattr(self.reader, 'det_side', '')}"}

    def open(self, out: FileAnalysis, run: FrameRun) -> FrameReader:
        """OCR is the costliest model per frame (0.6 s of text detection at side 480 on one core): while
        speech overlaps and the describer shares this thread, it runs in its own thread(s)."""
        if run.overlap and "visual" in run.beside:
            return _OcrPool(self, out, self.workers)
        return _Inline(self, out)

    def read_into(self, image: np.ndarray, start: float, end: float, out: FileAnalysis, timer: InlineTimer) -> None:
        t0 = time.perf_counter()
        lines = self.reader.read(image)
        timer.add(time.perf_counter() - t0)
        if lines:
            out.texts.append(FrameText(start=start, end=end, lines=tuple(lines)))

    def record(self, out: FileAnalysis) -> None:
        out.options["ocr"] = type(self.reader).__name__


class _Inline:
    def __init__(self, stage: SceneTextStage, out: FileAnalysis) -> None:
        self.stage, self.out, self.timer = stage, out, InlineTimer("ocr", out)

    def read(self, image: np.ndarray, start: float, end: float) -> None:
        self.stage.read_into(image, start, end, self.out, self.timer)

    def close(self) -> float:
        self.stage.record(self.out)
        return self.timer.seconds


class _OcrPool:
    """Consumer threads for OCR behind a short queue. With several workers, keyframes are read at once,
    so OCR can use the cores speech leaves idle once it is done (measured on 2 vCPUs, about one core of
    throughput: 3 % faster, so services start one worker there). Results are put back in keyframe order;
    a failure is re-raised by `close()` (workers keep draining so the producer never blocks on a full
    queue)."""

    def __init__(self, stage: SceneTextStage, out: FileAnalysis, workers: int = 1, depth: int = 4) -> None:
        self.stage, self.out = stage, out
        self.outs = [FileAnalysis(video_info=out.video_info) for _ in range(max(1, workers))]
        self.queue: queue.Queue[tuple[Any, float, float] | None] = queue.Queue(maxsize=depth + len(self.outs))
        self.error: BaseException | None = None
        self.threads = [threading.Thread(target=self._run, args=(o,), name=f"ocr-{i}", daemon=True)
                        for i, o in enumerate(self.outs)]
        for t in self.threads:
            t.start()

    def _run(self, out: FileAnalysis) -> None:
        timer = InlineTimer("ocr", out)
        while (item := self.queue.get()) is not None:
            if self.error is None:
                try:
                    self.stage.read_into(*item, out, timer)
                except BaseException as exc:  # noqa: BLE001 - handed to the producer in close()
                    self.error = exc

    def read(self, image: np.ndarray, start: float, end: float) -> None:
        self.queue.put((image, start, end))

    def close(self) -> float:
        for _ in self.threads:
            self.queue.put(None)
        for t in self.threads:
            t.join()
        if self.error is not None:
            raise self.error
        self.out.texts.extend(sorted((t for o in self.outs for t in o.texts), key=lambda t: t.start))
        self.out.timings["ocr"] = sum(o.timings.get("ocr", 0.0) for o in self.outs)
        self.stage.record(self.out)
        return 0.0  # in its own threads


def build(env: StageEnv) -> SceneTextStage | None:
    s, devices = env.settings, env.devices
    if not s.ocr_enabled:
        return None
    th = devices.stage_threads
    # Measured on 2 vCPUs (one core of throughput): a second OCR worker gained 3 % for +480 MB RSS, so
    # parallel OCR starts above two cores.
    workers = s.ocr_workers or (max(1, env.cores // max(1, th.vision))
                                if env.overlap and devices.device == "cpu" and env.cores > 2 else 1)
    reader = RapidOcrReader(threads=th.vision, det_side=s.ocr_det_side, cuda=devices.device == "cuda",
                            concurrency=workers)
    return SceneTextStage(reader, workers)


SPEC = StageSpec("ocr", build, absent={"ocr": None})
