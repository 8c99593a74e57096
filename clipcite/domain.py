"""Domain types shared by ingest, engine and api.

Plain dataclasses: they cross module boundaries; pydantic wire types stay in `api/`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, NewType

Seconds = NewType("Seconds", float)
SegmentId = NewType("SegmentId", str)
FileId = NewType("FileId", str)
CollectionId = NewType("CollectionId", str)


@dataclass(frozen=True)
class TimeRange:
    start: float
    end: float

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"TimeRange end {self.end} before start {self.start}")

    @property
    def duration(self) -> float:
        return self.end - self.start

    def overlaps(self, other: TimeRange) -> bool:
        return self.start < other.end and other.start < self.end

    def contains(self, t: float) -> bool:
        return self.start <= t < self.end


@dataclass(frozen=True)
class VideoInfo:
    duration_seconds: float
    fps: float
    width: int
    height: int
    has_audio: bool
    has_video: bool = True
    warnings: tuple[str, ...] = ()  # what is missing from a partial file indexed anyway (allow_partial_media)
    language: str | None = None  # spoken language (ISO 639-1) once speech was transcribed

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VideoInfo:
        """The one place a stored video_info (catalog row, analysis cache) becomes typed again."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**{**known, "warnings": tuple(data.get("warnings") or ())})

    def to_dict(self) -> dict[str, Any]:
        """What the catalog stores: `warnings` and `language` only when there are some."""
        return {k: v for k, v in asdict(self).items() if k not in ("warnings", "language") or v}


@dataclass(frozen=True)
class Word:
    text: str
    start: float
    end: float
    probability: float = 1.0  # the recogniser's confidence in the word (older analyses: unknown, 1.0)


@dataclass(frozen=True)
class SpeechSpan:
    """One transcribed utterance with word timings (faster-whisper segment)."""

    text: str
    start: float
    end: float
    words: tuple[Word, ...] = ()
    speaker: str | None = None


@dataclass(frozen=True)
class FrameVector:
    """A keyframe's CLIP image vector (float16, base64: compact in the JSON analysis cache)."""

    start: float
    end: float
    vector: str


@dataclass(frozen=True)
class FrameText:
    """Text read on screen in one keyframe, valid from `start` until the next keyframe."""

    start: float
    end: float
    lines: tuple[str, ...]


@dataclass(frozen=True)
class FrameVisual:
    """Visual labels of one keyframe, valid from `start` until the next keyframe."""

    start: float
    end: float
    description: str
    objects: tuple[str, ...] = ()
    scenes: tuple[str, ...] = ()
    colours: tuple[str, ...] = ()
    caption: str = ""  # from a vision-language model, when one is configured
    kind: str = ""  # photo | graphic | blank | dark (ingest.stages.visual.describer.frame_kind)
    placed: tuple[str, ...] = ()  # "a horse in the centre", "2 people on the left"


@dataclass
class SpeechPart:
    text: str
    start_time: float
    end_time: float
    speaker: str | None = None
    unsure: list[str] = field(default_factory=list)  # words the recogniser was unsure of (answers show them)


@dataclass
class ScreenLine:
    """One line of on-screen text and when it is visible inside its segment (clipped to the segment)."""

    text: str
    start_time: float
    end_time: float


@dataclass(frozen=True)
class SoundEvent:
    """A non-speech sound (YAMNet's AudioSet class in lower case: "music", "telephone bell ringing") and
    when it is heard; `score` is the model's best probability over the event."""

    text: str
    start_time: float
    end_time: float
    score: float = 0.0


@dataclass
class Segment:
    """One indexed unit: a time window of one file in one collection, with all modalities."""

    collection_id: str
    file_id: str
    segment_id: str
    index: int
    start_time: float
    end_time: float
    speech: list[SpeechPart] = field(default_factory=list)
    scene_text: list[str] = field(default_factory=list)
    # The same lines with the times they are on screen (empty in points indexed before they existed).
    scene_text_spans: list[ScreenLine] = field(default_factory=list)
    visual: list[str] = field(default_factory=list)
    # One sentence per distinct keyframe description, timed as its keyframes are on screen.
    visual_spans: list[ScreenLine] = field(default_factory=list)
    sounds: list[SoundEvent] = field(default_factory=list)  # audio_description: heard inside the segment
    speakers: list[str] = field(default_factory=list)  # labels speaking in this segment, for filters
    file_speaker_count: int = 0  # distinct speakers in the whole file
    # Copied from the file so that filters run inside the store.
    metadata: dict[str, Any] = field(default_factory=dict)
    segment_metadata: dict[str, Any] = field(default_factory=dict)
    file_info: dict[str, Any] = field(default_factory=dict)
    video_info: dict[str, Any] = field(default_factory=dict)

    @property
    def speech_text(self) -> str:
        return " ".join(p.text for p in self.speech).strip()

    def speaker_name(self, label: str | None) -> str | None:
        """A user-given name for a label (file metadata `speakers: {"speaker_1": "Dana"}`), else the label."""
        names = self.metadata.get("speakers") if isinstance(self.metadata, dict) else None
        if label and isinstance(names, dict) and isinstance(names.get(label), str):
            return names[label]
        return label

    def labelled_speech(self, parts: list[SpeechPart] | None = None) -> str:
        """Speech with speaker names where known: "Dana: ... speaker_2: ..." (consecutive turns merged).
        A one-speaker file without given names is plain text: a lone label only distracts a small model."""
        parts = parts if parts is not None else self.speech
        if self.file_speaker_count <= 1 and not self.metadata.get("speakers"):
            return " ".join(p.text for p in parts).strip()
        out: list[str] = []
        last = None
        for p in parts:
            who = self.speaker_name(p.speaker)
            out.append(f"{who}: {p.text}" if who and who != last else p.text)
            last = who
        return " ".join(out).strip()

    def screen_lines(self) -> list[ScreenLine]:
        """On-screen lines with their times; points indexed before times were kept get the segment's."""
        if self.scene_text_spans:
            return list(self.scene_text_spans)
        return [ScreenLine(t, self.start_time, self.end_time) for t in self.scene_text]

    @property
    def sound_text(self) -> str:
        return "; ".join(dict.fromkeys(e.text for e in self.sounds))

    def modality_lines(self, speech: str, screen: str, visual: str, sound: str = "sounds: ") -> list[str]:
        """The non-empty modalities, each after its label (labels differ between markdown and index text)."""
        lines = []
        if self.speech_text:
            lines.append(speech + self.labelled_speech())
        if self.scene_text:
            lines.append(screen + " | ".join(self.scene_text))
        if self.visual:
            lines.append(visual + "; ".join(self.visual))
        if self.sounds:
            lines.append(sound + self.sound_text)
        return lines

    def to_payload(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Segment:
        data = dict(payload)
        data["speech"] = [SpeechPart(**p) for p in data.get("speech", [])]
        data["scene_text_spans"] = [ScreenLine(**p) for p in data.get("scene_text_spans") or []]
        data["sounds"] = [SoundEvent(**p) for p in data.get("sounds") or []]
        data["visual_spans"] = [ScreenLine(**p) for p in data.get("visual_spans") or []]
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class ScoredSegment:
    segment: Segment
    score: float
    tag: tuple[str, str, str] | None = None  # (id, label, value) of the tag a tag search matched it by
