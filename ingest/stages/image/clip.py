"""CLIP image vectors for keyframes and CLIP text vectors for questions (user-supplied weights).

Why: the detector's labels cover 90 COCO objects and 1000 ImageNet classes; "a picture of galaxies in
deep space" is none of them (on the dev corpus the classifier's best guess for that frame was "bubble",
35 %). A CLIP model places pictures and sentences in one space, so text-to-image search finds moments
that only the picture shows. No CLIP weights ship in any reachable registry, so this loads a local
directory in Hugging Face format (`CLIPModel` + tokenizer + preprocessor config: the OpenAI
`clip-vit-base-patch32` / `-large-patch14` releases and LAION's `CLIP-ViT-*` repositories publish it).

It runs on transformers + torch, already installed for the sentence embeddings: open-clip-torch needs
torchvision, and no torchvision wheel in reach loads against the CPU torch 2.13 build (PyPI's 0.28.0 fails
with "operator torchvision::nms does not exist"), so the default install could not carry it.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from clipcite.errors import ModelUnavailable
from models.loading import Lazy, require_file

log = logging.getLogger(__name__)


def clip_dim(model_dir: Path) -> int:
    """The shared embedding size, read from config.json so the store opens without loading torch."""
    cfg = json.loads((Path(model_dir) / "config.json").read_text())
    dim = cfg.get("projection_dim")
    if not isinstance(dim, int) or dim <= 0:
        raise ModelUnavailable(f"{model_dir}/config.json has no projection_dim: not a CLIP model directory")
    return dim


class ClipEncoder:
    """Normalised CLIP vectors (cosine == dot); loads on first use, one call at a time."""

    name = "clip"

    def __init__(self, model_dir: Path, device: str = "cpu", threads: int = 1, batch_size: int = 16) -> None:
        self.model_dir = Path(model_dir)
        require_file(self.model_dir / "config.json", "CLIP model directory (CLIPCITE_CLIP_MODEL, with config.json)")
        self.dim = clip_dim(self.model_dir)
        self.name = f"clip:{self.model_dir.name}"  # in the analysis cache key: another model re-analyses
        self.device = device
        self.threads = threads
        self.batch_size = batch_size
        self._parts = Lazy("image", self._build, "pip install transformers")
        self._lock = threading.Lock()

    def _build(self):
        import torch
        from transformers import CLIPImageProcessorPil, CLIPModel, CLIPTokenizer

        if self.device == "cpu":
            torch.set_num_threads(self.threads)
        model = CLIPModel.from_pretrained(str(self.model_dir), local_files_only=True).to(self.device).eval()
        # The PIL processor: the default one wants torchvision (see the module docstring).
        processor = CLIPImageProcessorPil.from_pretrained(str(self.model_dir), local_files_only=True)
        tokenizer = CLIPTokenizer.from_pretrained(str(self.model_dir), local_files_only=True)
        return model, processor, tokenizer

    def _load(self):
        return self._parts.get()

    @staticmethod
    def _normalise(vecs) -> np.ndarray:
        arr = vecs.detach().float().cpu().numpy()
        return (arr / np.maximum(np.linalg.norm(arr, axis=1, keepdims=True), 1e-12)).astype(np.float32)

    def embed_images(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """`images` are BGR arrays (OpenCV / the keyframe decoder's layout)."""
        import torch
        from PIL import Image

        if not images:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = []
        with self._lock:
            model, processor, _ = self._load()
            for start in range(0, len(images), self.batch_size):
                batch = [Image.fromarray(np.ascontiguousarray(im[:, :, ::-1]))
                         for im in images[start:start + self.batch_size]]
                pixels = processor(images=batch, return_tensors="pt")["pixel_values"].to(self.device)
                with torch.inference_mode():
                    out.append(self._normalise(model.get_image_features(pixel_values=pixels).pooler_output))
        return np.concatenate(out)

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        with self._lock:
            model, _, tokenizer = self._load()
            tokens = tokenizer(list(texts), padding=True, truncation=True, max_length=77, return_tensors="pt")
            with torch.inference_mode():
                feats = model.get_text_features(**{k: v.to(self.device) for k, v in tokens.items()}).pooler_output
        return self._normalise(feats)
