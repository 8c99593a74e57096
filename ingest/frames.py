"""Keyframes: frames sampled at a low rate, kept only when the picture changed (visual novelty).

Why: OCR and visual description cost 0.1-3 s a frame on a CPU; a hard cut or a new slide is what
changes their output, so only novel frames are analysed, and each keyframe's result holds until the
next keyframe. The first frame is always a keyframe.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from clipcite.errors import MediaError

log = logging.getLogger(__name__)


@dataclass
class Keyframe:
    time: float  # best estimate of when this picture appeared (midway between samples)
    image: np.ndarray  # BGR uint8, at most `max_side` pixels on its long side


def _signature(rgb: np.ndarray) -> np.ndarray:
    """A 32x18 grey thumbnail plus a coarse colour histogram; cheap and robust to compression noise."""
    import cv2

    small = cv2.resize(rgb, (32, 18), interpolation=cv2.INTER_AREA).astype(np.float32)
    return small


def _changed(a: np.ndarray, b: np.ndarray, threshold: float) -> bool:
    return float(np.mean(np.abs(a - b))) > threshold


def iter_keyframes(path: Path, sample_fps: float = 2.0, threshold: float = 12.0, max_side: int = 960,
                   max_gap: float = 30.0) -> Iterator[Keyframe]:
    """Yield keyframes in time order. `max_gap` forces a keyframe now and then in static footage."""
    import av
    import cv2

    try:
        container = av.open(str(path))
    except Exception as exc:
        raise MediaError(f"not a readable video: {exc}") from exc
    with container:
        if not container.streams.video:
            raise MediaError("no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        step = 1.0 / sample_fps
        next_t = 0.0
        last_sig: np.ndarray | None = None
        last_key_t = -1e9
        prev_t = 0.0
        try:
            for frame in container.decode(stream):
                t = float(frame.time) if frame.time is not None else next_t
                if t + 1e-6 < next_t:
                    continue
                next_t = t + step
                rgb = frame.to_ndarray(format="bgr24")
                sig = _signature(rgb)
                if last_sig is None or _changed(sig, last_sig, threshold) or t - last_key_t >= max_gap:
                    h, w = rgb.shape[:2]
                    scale = min(1.0, max_side / max(h, w))
                    if scale < 1.0:
                        rgb = cv2.resize(rgb, (int(w * scale), int(h * scale)), interpolation=cv2.INTER_AREA)  # type: ignore[assignment]
                    last_key_t = t
                    # The change happened somewhere since the previous sample: split the difference.
                    appeared = t if last_sig is None else (prev_t + t) / 2
                    yield Keyframe(time=round(appeared, 3), image=rgb)
                last_sig = sig
                prev_t = t
        except (av.error.InvalidDataError, av.error.EOFError) as exc:  # truncated tails: keep what decoded
            log.warning("video decode stopped early in %s: %s", path.name, exc)
