"""Probe a media file with PyAV before any work is queued: duration, fps, size, audio presence.

Anything PyAV cannot open, or a file without a video stream or with zero duration, raises `MediaError`
with a reason the job record keeps.
"""

from __future__ import annotations

import logging
from pathlib import Path

from clipcite.domain import VideoInfo
from clipcite.errors import MediaError

log = logging.getLogger(__name__)


def probe(path: Path) -> VideoInfo:
    import av

    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        raise MediaError("file is empty")
    try:
        with av.open(str(path)) as container:
            video = next((s for s in container.streams if s.type == "video"), None)
            audio = next((s for s in container.streams if s.type == "audio"), None)
            if video is None:
                raise MediaError("no video stream" + (" (audio-only file)" if audio is not None else ""))
            duration = _duration(container, video)
            if duration <= 0:
                raise MediaError("video has zero duration")
            fps = float(video.average_rate or video.guessed_rate or 0) or 0.0
            width = int(video.codec_context.width or 0)
            height = int(video.codec_context.height or 0)
            if width <= 0 or height <= 0:
                raise MediaError("video stream has no frame size")
            return VideoInfo(duration_seconds=round(duration, 3), fps=round(fps, 3), width=width,
                             height=height, has_audio=audio is not None)
    except MediaError:
        raise
    except Exception as exc:  # PyAV raises many types (InvalidDataError, OSError...) for bad media
        raise MediaError(f"not a readable video: {type(exc).__name__}: {exc}") from exc


def _duration(container, video) -> float:
    if video.duration is not None and video.time_base is not None:
        d = float(video.duration * video.time_base)
        if d > 0:
            return d
    if container.duration is not None:
        return float(container.duration) / 1_000_000
    # Last resort: decode timestamps (e.g. streams without a duration header).
    last = 0.0
    for frame in container.decode(video=0):
        if frame.time is not None:
            last = max(last, float(frame.time))
    return last
