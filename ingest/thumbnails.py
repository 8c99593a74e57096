"""Segment thumbnails: one JPEG frame from the middle of a time range, made on first request and cached."""

from __future__ import annotations

from pathlib import Path

from clipcite.errors import MediaError


def thumbnail(video: Path, at: float, cache: Path, max_side: int = 320) -> Path:
    size = "" if max_side == 320 else f"_{max_side}"
    out = cache / f"{video.stem}_{int(at * 1000)}{size}.jpg"
    if out.exists():
        return out
    import av
    import cv2

    cache.mkdir(parents=True, exist_ok=True)
    try:
        with av.open(str(video)) as container:
            stream = container.streams.video[0]
            if stream.time_base:
                container.seek(int(max(0.0, at - 1.0) / stream.time_base), stream=stream, backward=True)
            image = None
            for frame in container.decode(stream):
                image = frame.to_ndarray(format="bgr24")
                if frame.time is not None and frame.time >= at:
                    break
    except Exception as exc:  # noqa: BLE001 - PyAV raises many types for unreadable media
        raise MediaError(f"no frame at {at:.2f}s: {exc}") from exc
    if image is None:
        raise MediaError(f"no frame at {at:.2f}s")
    h, w = image.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    if scale < 1.0:
        image = cv2.resize(image, (int(w * scale), int(h * scale)),  # type: ignore[assignment]
                           interpolation=cv2.INTER_AREA)
    tmp = out.with_suffix(".tmp.jpg")
    cv2.imwrite(str(tmp), image, [cv2.IMWRITE_JPEG_QUALITY, 80])
    tmp.replace(out)
    return out
