"""What the model stages said about one file (`FileAnalysis`), typed, and its JSON form in the catalog cache.

The JSON is read back field by field from the dataclass types (`from_json`), so a stage that adds a field
here needs no decoding code; caches written before a field existed read back with its default.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from dataclasses import asdict, dataclass, field
from typing import Any

from clipcite.domain import FrameText, FrameVector, FrameVisual, SoundEvent, SpeechSpan, VideoInfo


@dataclass
class FileAnalysis:
    """Everything the models said about one file; JSON-serialisable for the catalog cache."""

    video_info: VideoInfo
    speech: list[SpeechSpan] = field(default_factory=list)
    language: str | None = None  # the main spoken language (Whisper's identification)
    languages: list[str] = field(default_factory=list)  # main first, then others heard in long stretches
    sounds: list[SoundEvent] = field(default_factory=list)  # non-speech sound events, whole file
    texts: list[FrameText] = field(default_factory=list)
    visuals: list[FrameVisual] = field(default_factory=list)
    frame_vectors: list[FrameVector] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FileAnalysis:
        out = _decode(cls, data)
        assert isinstance(out, FileAnalysis)
        return out

    def merge(self, other: FileAnalysis) -> None:
        """Take what a stage wrote into a private analysis (another thread's): lists are appended, dicts
        updated, other values taken where set."""
        for f in dataclasses.fields(self):
            if f.name == "video_info":
                continue
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if isinstance(mine, list):
                mine.extend(theirs)
            elif isinstance(mine, dict):
                mine.update(theirs)
            elif theirs is not None:
                setattr(self, f.name, theirs)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _decode(tp: Any, value: Any) -> Any:
    """JSON value -> `tp` (dataclasses, list[T], tuple[T, ...], T | None); unknown keys are ignored and
    missing ones take their defaults. A dataclass with `from_dict` (VideoInfo) decodes itself."""
    if value is None:
        return None
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return _decode(next(a for a in args if a is not type(None)), value)
    if origin is list:
        return [_decode(args[0], v) for v in value]
    if origin is tuple:
        return tuple(_decode(args[0], v) for v in value)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if hasattr(tp, "from_dict"):
            return tp.from_dict(value)
        hints = _hints(tp)
        return tp(**{f.name: _decode(hints[f.name], value[f.name]) for f in dataclasses.fields(tp)
                     if f.name in value})
    return value


# A keyframe's image vector is cached as base64 float16 (half the JSON of float32, well within the
# similarity precision search needs).
def pack_vector(vec) -> str:
    import base64

    import numpy as np

    return base64.b64encode(np.asarray(vec, dtype=np.float16).tobytes()).decode()


def unpack_vector(text: str):
    import base64

    import numpy as np

    return np.frombuffer(base64.b64decode(text), dtype=np.float16).astype(np.float32)
