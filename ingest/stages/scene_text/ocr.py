"""Scene text (OCR) from keyframes with RapidOCR; its ONNX models ship inside the `rapidocr` wheel."""

from __future__ import annotations

import logging
import queue
import re
import threading
from typing import Protocol

import numpy as np

from clipcite.domain import FrameText
from clipcite.errors import ModelUnavailable
from models.loading import timed_load

log = logging.getLogger(__name__)


class SceneTextReader(Protocol):
    def read(self, image: np.ndarray) -> list[str]: ...


class RapidOcrReader:
    """Lines of text in reading order with confidence >= min_score; model loaded on first use.

    Up to `concurrency` engines (one per concurrent caller, ~60 MB each) so several keyframes can be
    read at once: text detection is the costliest per-frame model and one onnxruntime session per
    thread scales across cores where one shared engine would serialise."""

    def __init__(self, threads: int = 1, min_score: float = 0.6, det_side: int = 480, cuda: bool = False,
                 concurrency: int = 1) -> None:
        self.threads = threads
        self.cuda = cuda  # onnxruntime's CUDA provider (needs onnxruntime-gpu)
        self.det_side = det_side
        self.min_score = min_score
        self.concurrency = max(1, concurrency)
        self._free: queue.LifoQueue = queue.LifoQueue()
        self._created = 0
        self._lock = threading.Lock()

    def _load(self) -> None:
        """Create every engine now (start-up and benchmarks: model loading stays out of timed work)."""
        while self._created < self.concurrency:
            with self._lock:
                self._created += 1
            self._free.put(self._new_engine())

    def _acquire(self):
        try:
            return self._free.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            if self._created < self.concurrency:
                self._created += 1
                try:
                    return self._new_engine()
                except BaseException:
                    self._created -= 1
                    raise
        return self._free.get()  # all engines busy: wait for one

    def _new_engine(self):
        try:
            from rapidocr import RapidOCR
        except ImportError as exc:
            raise ModelUnavailable("scene text needs rapidocr: pip install rapidocr onnxruntime") from exc
        logging.getLogger("RapidOCR").setLevel(logging.ERROR)
        # Measured here on a 640x360 frame: default settings 0.9-1.8 s; detector side 480 and no
        # angle classifier 0.42 s with the same text read (on-screen text in video is upright).
        params = {"EngineConfig.onnxruntime.intra_op_num_threads": self.threads,
                  "EngineConfig.onnxruntime.inter_op_num_threads": 1,
                  "Det.limit_side_len": self.det_side, "Global.use_cls": False,
                  "Global.log_level": "warning"}
        if self.cuda:
            params["EngineConfig.onnxruntime.use_cuda"] = True
        with timed_load("ocr"):
            try:
                return RapidOCR(params=params)
            except Exception:  # older 3.x releases reject unknown keys: fall back to defaults
                return RapidOCR()

    def read(self, image: np.ndarray) -> list[str]:
        engine = self._acquire()
        try:
            result = engine(image)
        finally:
            self._free.put(engine)
        texts = getattr(result, "txts", None) or ()
        scores = getattr(result, "scores", None) or ()
        boxes = getattr(result, "boxes", None)
        kept = [(t.strip(), b) for i, (t, s) in enumerate(zip(texts, scores, strict=False))
                if t and t.strip() and s >= self.min_score
                for b in [boxes[i] if boxes is not None and i < len(boxes) else None]]
        if any(b is None for _, b in kept):
            return [t for t, _ in kept]
        return join_rows([(t, np.asarray(b, dtype=np.float32)) for t, b in kept])


def join_rows(boxes: list[tuple[str, np.ndarray]]) -> list[str]:
    """Text boxes of one row joined left to right, rows top to bottom. The detector cuts a table row
    (`plough    -3 %`) or a `key = value` line at wide gaps into separate boxes; read apart, a value loses
    its label. Boxes are one row when their vertical centres are within half a line height of each other."""
    items = []
    for text, quad in boxes:
        ys, xs = quad[:, 1], quad[:, 0]
        items.append((float(ys.mean()), float(ys.max() - ys.min()), float(xs.min()), text))
    items.sort()
    rows: list[list[tuple[float, float, float, str]]] = []
    for item in items:
        cy, height, _, _ = item
        row = rows[-1] if rows else None
        if row is not None:
            centre = sum(i[0] for i in row) / len(row)
            tall = max(max(i[1] for i in row), height)
            if abs(cy - centre) <= 0.5 * tall:
                row.append(item)
                continue
        rows.append([item])
    return [" ".join(i[3] for i in sorted(row, key=lambda i: i[2])) for row in rows]


def normalise_line(line: str) -> str:
    return re.sub(r"\s+", " ", line).strip()


def dedupe_lines(lines: list[str]) -> list[str]:
    """Keep first occurrences; drop a line that is a case-insensitive duplicate or contained in a kept one."""
    kept: list[str] = []
    for raw in lines:
        line = normalise_line(raw)
        if not line:
            continue
        low = line.lower()
        if any(low == k.lower() or low in k.lower() for k in kept):
            continue
        kept = [k for k in kept if k.lower() not in low]
        kept.append(line)
    return kept


# A line seen again within this gap of its last keyframe is the same appearance (OCR can miss a frame).
APPEARANCE_GAP_S = 1.0


def appearances(texts: list[FrameText]) -> list[tuple[str, float, float]]:
    """When each on-screen line is visible: consecutive keyframes showing the same line (case-insensitive)
    merge into one appearance, across segment boundaries; returns (line, start, end) by start time."""
    open_: dict[str, list] = {}
    done: list[tuple[str, float, float]] = []
    for frame in sorted(texts, key=lambda t: t.start):
        seen = set()
        for raw in frame.lines:
            line = normalise_line(raw)
            key = line.lower()
            if not line or key in seen:
                continue
            seen.add(key)
            cur = open_.get(key)
            if cur is not None and frame.start - cur[2] <= APPEARANCE_GAP_S:
                cur[2] = max(cur[2], frame.end)
                continue
            if cur is not None:
                done.append((cur[0], cur[1], cur[2]))
            open_[key] = [line, frame.start, frame.end]
    done.extend((c[0], c[1], c[2]) for c in open_.values())
    return sorted(done, key=lambda a: (a[1], a[0]))
