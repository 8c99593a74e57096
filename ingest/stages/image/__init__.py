"""Image vectors: a CLIP vector per keyframe (user-supplied weights), for image search over segments."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from clipcite.domain import FrameVector
from ingest.analysis import FileAnalysis, pack_vector
from ingest.readiness import Check, tiny_frame
from ingest.stages.base import FrameRun, InlineTimer, Reads, StageEnv, StageSpec
from ingest.stages.image.clip import ClipEncoder


class ImageStage:
    name = "image"
    reads: Reads = "keyframes"
    adds = ("frame_vectors",)

    def __init__(self, encoder: ClipEncoder) -> None:
        self.encoder = encoder

    def checks(self) -> list[Check]:
        def run() -> str:
            self.encoder.embed_images([tiny_frame()])
            return self.encoder.name

        return [Check(self.name, ("transformers", "torch"), run)]

    def options(self) -> dict[str, Any]:
        return {"image": self.encoder.name}

    def open(self, out: FileAnalysis, run: FrameRun) -> _Reader:
        return _Reader(self.encoder, out)


class _Reader:
    def __init__(self, encoder: ClipEncoder, out: FileAnalysis) -> None:
        self.encoder, self.out, self.timer = encoder, out, InlineTimer("image", out)

    def read(self, image: np.ndarray, start: float, end: float) -> None:
        t0 = time.perf_counter()
        vec = self.encoder.embed_images([image])[0]
        self.timer.add(time.perf_counter() - t0)
        self.out.frame_vectors.append(FrameVector(start=start, end=end, vector=pack_vector(vec)))

    def close(self) -> float:
        return self.timer.seconds


def build(env: StageEnv) -> ImageStage | None:
    # The encoder is built once by the runtime (the query side embeds texts with it); vectors are only
    # worth computing when the store keeps them.
    return ImageStage(env.clip) if env.clip is not None and env.image_vectors else None


SPEC = StageSpec("image", build)  # absent: no key entry (it came after the others)
