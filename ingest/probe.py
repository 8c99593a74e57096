"""Probe a media file with PyAV before any work is queued: duration, fps, size, audio presence.

Anything PyAV cannot open, or a file without a video stream or with zero duration, raises `MediaError`
with a reason the job record keeps. A file whose packets end well before the duration its header claims
(an upload cut short, a copy that stopped) is `truncated`: indexing it silently would answer from part of
the video as if it were whole. It fails unless partial files are allowed, and then carries a warning.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clipcite.domain import VideoInfo
from clipcite.errors import MediaError

log = logging.getLogger(__name__)


# A file counts as truncated when its last packet ends this far before the header's duration.
TRUNCATION_TOLERANCE_S = 1.0
TRUNCATION_TOLERANCE_FRACTION = 0.05


@contextlib.contextmanager
def video_stream(path: Path) -> Iterator[tuple[Any, Any]]:
    """(container, first video stream) for decoding with PyAV's threads, closed on exit; `MediaError` with
    the reason when the file cannot be opened or has no video (shot detection and keyframes read this way)."""
    import av

    try:
        container = av.open(str(path))
    except Exception as exc:  # noqa: BLE001 - PyAV raises many types for unreadable input
        raise MediaError(f"not a readable video: {exc}") from exc
    with container:
        if not container.streams.video:
            raise MediaError("no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        yield container, stream


def probe(path: Path, allow_partial: bool = False) -> VideoInfo:
    """`allow_partial`: a truncated or partly corrupt file is usable, with `warnings` saying what is missing."""
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
            codec: Any = video.codec_context  # a VideoCodecContext for a video stream
            width = int(codec.width or 0)
            height = int(codec.height or 0)
            if width <= 0 or height <= 0:
                raise MediaError("video stream has no frame size")
            check = _integrity(container, video, duration)
    except MediaError:
        raise
    except Exception as exc:  # PyAV raises many types (InvalidDataError, OSError...) for bad media
        raise MediaError(f"not a readable video: {type(exc).__name__}: {exc}") from exc
    if check.problems and not allow_partial:
        raise MediaError("; ".join(check.problems)
                         + " (set CLIPCITE_ALLOW_PARTIAL_MEDIA=true to index what is readable)")
    for w in check.problems:
        log.warning("%s: %s; indexing the readable %.1f s", path.name, w, check.readable_s)
    return VideoInfo(duration_seconds=round(check.readable_s, 3), fps=round(fps, 3), width=width, height=height,
                     has_audio=audio is not None, warnings=check.problems)


@dataclass(frozen=True)
class _Integrity:
    readable_s: float  # the duration to index: the header's unless the packets end early
    problems: tuple[str, ...]


def _integrity(container, video, claimed: float) -> _Integrity:
    """Demux (no decoding: fast) every video packet: where the readable stream really ends, and how many
    packets the demuxer flagged corrupt."""
    problems: list[str] = []
    end, corrupt, packets = 0.0, 0, 0
    tb = video.time_base
    with contextlib.suppress(Exception):  # unseekable input is read from where it is
        container.seek(0)
    try:
        for packet in container.demux(video):
            if packet.size == 0:  # flush packet
                continue
            packets += 1
            if packet.is_corrupt:
                corrupt += 1
            if packet.pts is not None and tb is not None:
                end = max(end, float((packet.pts + (packet.duration or 0)) * tb))
    except Exception as exc:  # noqa: BLE001 - a read error mid-file is what is being detected
        problems.append(f"read error after {end:.1f} s: {type(exc).__name__}")
    if packets == 0:
        raise MediaError("no readable video packets")
    start = float(video.start_time * tb) if video.start_time is not None and tb is not None else 0.0
    readable = max(0.0, end - start)
    truncated = claimed - readable > max(TRUNCATION_TOLERANCE_S, TRUNCATION_TOLERANCE_FRACTION * claimed)
    if truncated:
        problems = [f"truncated: decoded {readable:.1f} s of {claimed:.1f} s"]
    if corrupt:
        problems.append(f"{corrupt} of {packets} video packets are corrupt")
    return _Integrity(readable if truncated else claimed, tuple(problems))


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
