"""An image sent with a question ("where in the videos is this slide?") read by the same models that read
keyframes at ingest: its on-screen text (OCR) and what it shows (the describer's labels). The words join
the question, so lexical and dense search find the moments showing the same text or things."""

from __future__ import annotations

import logging

import cv2
import numpy as np

from clipcite.errors import InvalidRequest
from ingest.pipeline import Analyzer
from ingest.stages.scene_text import SceneTextStage
from ingest.stages.visual import VisualStage

log = logging.getLogger(__name__)

MAX_IMAGE_SIDE = 4096  # larger images are shrunk first: OCR of the keyframe-sized image is what search needs


def decode_image(data: bytes, param: str) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
    if image is None or image.size == 0:
        raise InvalidRequest("the image could not be decoded (send PNG, JPEG, WebP or BMP)", param=param)
    h, w = image.shape[:2]
    if max(h, w) > MAX_IMAGE_SIDE:
        scale = MAX_IMAGE_SIDE / max(h, w)
        image = cv2.resize(image, (max(1, int(w * scale)), max(1, int(h * scale))), interpolation=cv2.INTER_AREA)
    return image


def image_words(analyzer: Analyzer, image: np.ndarray) -> str:
    """'Image text: ...' and 'Image shows: ...' lines (empty when the image has neither, or no stage is on)."""
    lines: list[str] = []
    for stage in analyzer.stages:
        if isinstance(stage, SceneTextStage):
            text = [t for t in stage.reader.read(image) if t.strip()]
            if text:
                lines.append("Image text: " + " | ".join(text))
        elif isinstance(stage, VisualStage):
            labels = stage.describer.describe(image).description
            if labels:
                lines.append("Image shows: " + labels)
    log.info("query image read as %r", lines)
    return "\n".join(lines)
