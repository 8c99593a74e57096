"""Visual description of keyframes: labels (objects, scenes, colours) and, with a VLM, a caption."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from clipcite.domain import FrameVisual
from ingest.analysis import FileAnalysis
from ingest.readiness import Check, tiny_frame
from ingest.stages.base import FrameRun, InlineTimer, Reads, StageEnv, StageSpec
from ingest.stages.visual.describer import VisualDescriber, VlmSettings, build_describer


class VisualStage:
    name = "visual"
    reads: Reads = "keyframes"
    adds = ("visuals",)

    def __init__(self, describer: VisualDescriber) -> None:
        self.describer = describer

    def checks(self) -> list[Check]:
        def run() -> str:
            self.describer.describe(tiny_frame())
            return f"describer {getattr(self.describer, 'name', '?')}"

        return [Check(self.name, self.describer.packages, run)]

    def options(self) -> dict[str, Any]:
        # "-2": keyframe kinds, object positions and ImageNet kinds (sentences a person would write)
        return {"visual": f"{getattr(self.describer, 'name', None)}-2"}

    def open(self, out: FileAnalysis, run: FrameRun) -> _Reader:
        return _Reader(self.describer, out)


class _Reader:
    def __init__(self, describer: VisualDescriber, out: FileAnalysis) -> None:
        self.describer, self.out, self.timer = describer, out, InlineTimer("visual", out)

    def read(self, image: np.ndarray, start: float, end: float) -> None:
        t0 = time.perf_counter()
        v = self.describer.describe(image)
        self.timer.add(time.perf_counter() - t0)
        self.out.visuals.append(FrameVisual(start=start, end=end, description=v.description, objects=v.objects,
                                            scenes=v.scenes, colours=v.colours, caption=v.caption, kind=v.kind,
                                            placed=v.placed))

    def close(self) -> float:
        self.out.options["visual"] = getattr(self.describer, "name", None)
        return self.timer.seconds


def build(env: StageEnv) -> VisualStage | None:
    s = env.settings
    if not s.visual_enabled:
        return None
    vlm = VlmSettings(s.vlm_model, s.vlm_mmproj, s.vlm_handler,
                      env.devices.llama_gpu_layers(s.n_gpu_layers)) if s.vlm_model else None
    return VisualStage(build_describer(s.visual_describer, env.devices.stage_threads.vision, vlm))


SPEC = StageSpec("visual", build, absent={"visual": None})
