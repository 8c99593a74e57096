"""Keyframes: frames sampled at a low rate, kept when the picture changed or a new text state settled.

Why: OCR and visual description cost 0.1-3 s a frame on a CPU, so only frames with something new are
analysed, and each keyframe's result holds until the next keyframe. Two changes count:

- a cut or a new scene: a 32x18 colour thumbnail moves (cheap, robust to compression noise);
- a new text state: the same background with other lines of small text (a terminal, a slide's next bullet,
  a table's new row) barely moves a thumbnail. An edge map at text scale (about 256 pixels wide), compared
  cell by cell, sees it. Motion also moves edges, so such a change becomes a keyframe only once the frame
  has settled (the next sample shows the same): a slide or a screen holds still, moving footage does not,
  and is left to the thumbnail and `max_gap`.

The first frame is always a keyframe.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ingest.probe import video_stream

log = logging.getLogger(__name__)

# The text-scale edge map's width: 14 px text stays ~5 px tall in it (still edges) at 640 pixels wide and at
# 1920 (a 1080p screen's small text shrunk to 256 pixels would be under 2 px and invisible).
EDGE_MIN_WIDTH, EDGE_SHRINK = 256, 2.5
GRID = (16, 9)  # cells the edge map is compared in: a changed line of text fills part of a row of cells
EDGE_LEVEL = 40.0  # grey-level step that counts as an edge
CELL_CHANGE = 8  # edge pixels that flip in a cell for it to have changed (a stroke of a character)
SETTLED = 2  # a changed cell with at most this many flips between two samples is still


@dataclass
class Keyframe:
    time: float  # best estimate of when this picture appeared (midway between samples)
    image: np.ndarray  # BGR uint8, at most `max_side` pixels on its long side


def _signature(bgr: np.ndarray) -> np.ndarray:
    """A 32x18 colour thumbnail: what a cut or a new scene changes."""
    import cv2

    return cv2.resize(bgr, (32, 18), interpolation=cv2.INTER_AREA).astype(np.float32)


def _changed(a: np.ndarray, b: np.ndarray, threshold: float) -> bool:
    return float(np.mean(np.abs(a - b))) > threshold


def edge_map(bgr: np.ndarray) -> np.ndarray:
    """The binary text-scale edge map itself (what `edge_cells` summarises), for cell-wise comparison."""
    import cv2

    h, w = bgr.shape[:2]
    width = min(w, max(EDGE_MIN_WIDTH, int(w / EDGE_SHRINK)))
    height = max(GRID[1], int(round(h * width / w)))
    g = cv2.cvtColor(cv2.resize(bgr, (width, height), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY)
    g = g.astype(np.int16)
    edges = np.zeros(g.shape, np.bool_)
    edges[:, 1:] |= np.abs(g[:, 1:] - g[:, :-1]) > EDGE_LEVEL
    edges[1:, :] |= np.abs(g[1:, :] - g[:-1, :]) > EDGE_LEVEL
    return edges


def cell_diffs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per GRID cell, how many pixels' edge state differs between two edge maps (rows x cols)."""
    cols, rows = GRID
    if a.shape != b.shape:
        return np.full((rows, cols), a.size, np.float32)
    diff = (a != b).astype(np.float32)
    h, w = diff.shape
    ys = np.linspace(0, h, rows + 1).astype(int)
    xs = np.linspace(0, w, cols + 1).astype(int)
    return np.add.reduceat(np.add.reduceat(diff, ys[:-1], axis=0), xs[:-1], axis=1)


def text_change(edges: np.ndarray, key: np.ndarray, prev: np.ndarray | None) -> tuple[bool, bool]:
    """(changed, settled): cells whose edges differ from the keyframe's, and whether most of those cells are
    now still (a blinking cursor or a ticking clock moves one cell; a new line of text stays)."""
    moved = cell_diffs(edges, key) > CELL_CHANGE
    if not moved.any():
        return False, False
    if prev is None:
        return True, False
    still = cell_diffs(edges, prev)[moved] <= SETTLED
    return True, float(still.mean()) >= 0.75


def iter_keyframes(path: Path, sample_fps: float = 2.0, threshold: float = 12.0, max_side: int = 960,
                   max_gap: float = 30.0) -> Iterator[Keyframe]:
    """Yield keyframes in time order. `max_gap` forces a keyframe now and then in static footage."""
    import av
    import cv2

    with video_stream(path) as (container, stream):
        step = 1.0 / sample_fps
        next_t = 0.0
        last_sig: np.ndarray | None = None
        key_edges: np.ndarray | None = None  # the edge map of the last keyframe
        prev_edges: np.ndarray | None = None  # the previous sample's
        pending: float | None = None  # when an unsettled text change was first seen
        last_key_t = -1e9
        prev_t = 0.0
        try:
            for frame in container.decode(stream):
                t = float(frame.time) if frame.time is not None else next_t
                if t + 1e-6 < next_t:
                    continue
                next_t = t + step
                bgr = frame.to_ndarray(format="bgr24")
                sig, edges = _signature(bgr), edge_map(bgr)
                new_scene = last_sig is None or _changed(sig, last_sig, threshold)
                text_changed, settled = text_change(edges, key_edges, prev_edges) if key_edges is not None \
                    else (False, False)
                if not text_changed:
                    pending = None
                elif pending is None:
                    pending = (prev_t + t) / 2
                if new_scene or (text_changed and settled) or t - last_key_t >= max_gap:
                    h, w = bgr.shape[:2]
                    scale = min(1.0, max_side / max(h, w))
                    image = cv2.resize(bgr, (int(w * scale), int(h * scale)), interpolation=cv2.INTER_AREA) \
                        if scale < 1.0 else bgr
                    # The change happened somewhere since the previous sample (or since a text change
                    # was first seen, when it took a sample to settle): split the difference.
                    if last_sig is None:
                        appeared = t
                    elif new_scene:
                        appeared = (prev_t + t) / 2
                    else:
                        appeared = pending if pending is not None else (prev_t + t) / 2
                    last_key_t = t
                    key_edges, pending = edges, None
                    yield Keyframe(time=round(appeared, 3), image=image)
                last_sig, prev_edges, prev_t = sig, edges, t
        except (av.error.InvalidDataError, av.error.EOFError) as exc:  # truncated tails: keep what decoded
            log.warning("video decode stopped early in %s: %s", path.name, exc)
