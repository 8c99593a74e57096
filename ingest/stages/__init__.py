"""The ingest stages, in the order they run (keyframe stages read each keyframe in this order).

One package per stage: `<name>/__init__.py` holds the stage class (see `base.Stage`) and its `SPEC`, the
model code it runs sits beside it (`speech/whisper.py`, `scene_text/ocr.py`, ...). Adding a stage is that
package plus its line in `STAGES`; the analyzer and the runtime need no change.
"""

from __future__ import annotations

from ingest.stages import audio, image, scene_text, speech, visual
from ingest.stages.base import AudioStage, FrameReader, FrameRun, KeyframeStage, Stage, StageEnv, StageSpec

STAGES: tuple[StageSpec, ...] = (speech.SPEC, audio.SPEC, scene_text.SPEC, visual.SPEC, image.SPEC)


def build_stages(env: StageEnv) -> list[Stage]:
    """The stages the settings enable, in registry order."""
    return [stage for spec in STAGES if (stage := spec.build(env)) is not None]


__all__ = ["STAGES", "AudioStage", "FrameReader", "FrameRun", "KeyframeStage", "Stage", "StageEnv", "StageSpec",
           "build_stages"]
