"""The ingest stage interface: what a per-file model stage declares and how the analyzer drives it.

A stage reads either the file's audio (it runs once over the whole file, in the speech thread when the
analysis overlaps) or its keyframes (the analyzer decodes them once and hands each one to every keyframe
stage). It names the options that key the analysis cache and writes what it finds into the
`FileAnalysis` (the fields it lists in `adds`). `StageSpec` is its registry entry (`ingest.stages.STAGES`):
how to build it from the settings, and the cache-key entries recorded while it is disabled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from clipcite.domain import VideoInfo
from ingest.analysis import FileAnalysis
from ingest.readiness import Check

if TYPE_CHECKING:
    import numpy as np

    from clipcite.settings import Settings
    from ingest.stages.image.clip import ClipEncoder
    from models.devices import DevicePlan
    from models.registry import ModelRegistry

Reads = Literal["audio", "keyframes"]
# (label shown in live status, fraction of this stage done 0..1)
StageProgress = Callable[[str, float], None]


class Stage(Protocol):
    @property
    def name(self) -> str:
        """The stage's name, also its key in FileAnalysis.timings."""
        ...

    @property
    def reads(self) -> Reads:
        """What it consumes: the file's audio, or the shared keyframes."""
        ...

    @property
    def adds(self) -> tuple[str, ...]:
        """The FileAnalysis fields it fills."""
        ...

    def options(self) -> dict[str, Any]:
        """Entries of the analysis cache key: a change here re-analyses files."""
        ...

    def checks(self) -> list[Check]:
        """Its models loaded and run once on a tiny input (`ingest.readiness`), before any file is taken."""
        ...


class AudioStage(Stage, Protocol):
    def run(self, path: Path, info: VideoInfo, out: FileAnalysis, progress: StageProgress) -> None:
        """Analyse the whole file (it has audio) and write the results into `out`."""
        ...

    def finish(self, path: Path, out: FileAnalysis) -> None:
        """After every stage has run (`out` holds the keyframe stages' findings too): revise what this
        stage wrote in their light, e.g. speech against the text on screen."""
        ...


@dataclass(frozen=True)
class FrameRun:
    """How one file's keyframes are read: `overlap` (the analyzer runs speech beside keyframes; set even
    for a file without audio) and the names of the other keyframe stages reading the same frames."""

    overlap: bool = False
    beside: tuple[str, ...] = ()


class FrameReader(Protocol):
    def read(self, image: np.ndarray, start: float, end: float) -> None:
        """One keyframe, on screen from `start` until `end` (the next keyframe)."""
        ...

    def close(self) -> float:
        """After the last keyframe (also on failure): finish any background work, re-raise its error;
        returns the seconds spent in the decoding thread (the rest of that thread's time is decoding)."""
        ...


class KeyframeStage(Stage, Protocol):
    def open(self, out: FileAnalysis, run: FrameRun) -> FrameReader:
        """Start reading one file's keyframes; results go into `out`."""
        ...


@dataclass(frozen=True)
class StageEnv:
    """What a stage is built from: settings, devices, model files, and the ingest-wide choices."""

    settings: Settings
    devices: DevicePlan
    registry: ModelRegistry
    overlap: bool  # speech beside keyframes
    cores: int
    clip: ClipEncoder | None = None  # shared with the query side (text vectors for image search)
    image_vectors: bool = False  # the store keeps image vectors


@dataclass(frozen=True)
class StageSpec:
    """A registry entry. `build` returns None when the settings disable the stage; `absent` is what the
    cache key records then (kept as it was so that existing caches still hit; a new stage uses {})."""

    name: str
    build: Callable[[StageEnv], Stage | None]
    absent: dict[str, Any] = field(default_factory=dict)


class InlineTimer:
    """Accumulates a keyframe stage's seconds in `out.timings[name]` and in the decoding thread."""

    def __init__(self, name: str, out: FileAnalysis) -> None:
        self.name, self.out, self.seconds = name, out, 0.0

    def add(self, seconds: float) -> None:
        self.out.timings[self.name] = self.out.timings.get(self.name, 0.0) + seconds
        self.seconds += seconds
