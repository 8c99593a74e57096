"""Shot cuts: where consecutive frames differ in hue, saturation and brightness far more than usual.

Why our own: PySceneDetect, which this replaces, hard-requires `opencv-python` while RapidOCR requires
`opencv-python-headless`; both write the one `cv2` module, so PySceneDetect had to be installed without
its dependencies and `pip check` could never be clean. Its two detectors are small and documented
(BSD-3-Clause); these are the same measurements on the same frames:

- content: the mean absolute difference of the H, S and V planes between consecutive frames (each 0-255,
  averaged over the three planes) on frames scaled to about 256 pixels wide; a cut where it reaches the
  threshold (27) and at least `min_frames` (15) frames after the previous cut;
- adaptive: the same score divided by the mean score of the `window` frames on each side; a cut where
  that ratio reaches 3 and the score itself is at least 15 (a fast pan raises every neighbour's score, a
  cut only its own), again at least `min_frames` after the previous cut.

Decoding goes through PyAV, like the rest of ingest.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ingest.probe import video_stream

log = logging.getLogger(__name__)

TARGET_WIDTH = 256  # frames are scaled to about this width before comparing (PySceneDetect's default)


@dataclass(frozen=True)
class ShotParams:
    adaptive: bool = True
    threshold: float = 27.0  # content: score that makes a cut
    adaptive_ratio: float = 3.0  # adaptive: score / neighbours' mean that makes a cut
    min_score: float = 15.0  # adaptive: a cut's own score is at least this
    window: int = 2  # adaptive: frames on each side
    min_frames: int = 15  # frames between two cuts


def _hsv_frames(path: Path) -> Iterator[tuple[float, np.ndarray]]:
    """(time, HSV planes as int16 (3, h, w)) of every decoded frame, downscaled. Times count from the first
    frame (as PySceneDetect's do): a stream that starts a frame or two after its container is not late."""
    import av
    import cv2

    with video_stream(path) as (container, stream):
        rate = float(stream.average_rate or 25)
        size: tuple[int, int] | None = None
        first: float | None = None
        try:
            for n, frame in enumerate(container.decode(stream)):
                t = float(frame.time) if frame.time is not None else n / rate
                first = t if first is None else first
                t -= first
                bgr = frame.to_ndarray(format="bgr24")
                if size is None:
                    h, w = bgr.shape[:2]
                    factor = max(1, round(w / TARGET_WIDTH))
                    size = (max(1, w // factor), max(1, h // factor))
                small = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA) if size != bgr.shape[1::-1] else bgr
                yield t, cv2.cvtColor(small, cv2.COLOR_BGR2HSV).transpose(2, 0, 1).astype(np.int16)
        except (av.error.InvalidDataError, av.error.EOFError) as exc:  # a truncated tail: keep what decoded
            log.warning("shot detection stopped early in %s: %s", path.name, exc)


def frame_scores(path: Path) -> tuple[list[float], list[float]]:
    """(times, scores): each frame's mean HSV difference from the previous frame (the first scores 0)."""
    times: list[float] = []
    scores: list[float] = []
    last: np.ndarray | None = None
    for t, hsv in _hsv_frames(path):
        times.append(t)
        scores.append(0.0 if last is None else float(np.abs(hsv - last).mean()))
        last = hsv
    return times, scores


def cuts(times: list[float], scores: list[float], p: ShotParams = ShotParams()) -> list[float]:
    """Cut times (the first frame of each new shot) from per-frame scores."""
    out: list[float] = []
    last_cut = 0
    for i, score in enumerate(scores):
        if p.adaptive:
            lo, hi = i - p.window, i + p.window
            if lo < 0 or hi >= len(scores):
                continue
            mean = (sum(scores[lo:hi + 1]) - score) / (2 * p.window)
            ratio = min(score / mean, 255.0) if mean > 1e-5 else (255.0 if score >= p.min_score else 0.0)
            hit = ratio >= p.adaptive_ratio and score >= p.min_score
        else:
            hit = score >= p.threshold
        if hit and i - last_cut >= p.min_frames:
            out.append(times[i])
            last_cut = i
    return out


def detect_cuts(path: Path, p: ShotParams = ShotParams()) -> list[float]:
    times, scores = frame_scores(path)
    return cuts(times, scores, p)
