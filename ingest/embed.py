"""Text embeddings (sentence-transformers, local weights only); shared by ingest and query time."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np
from models.loading import timed_load

log = logging.getLogger(__name__)


class Embedder(Protocol):
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class SentenceEmbedder:
    """Normalised vectors, so cosine == dot; loads on first use, batches, one call at a time."""

    def __init__(self, model_path: Path, device: str = "cpu", threads: int = 1, batch_size: int = 32) -> None:
        self.model_path = Path(model_path)
        self.device = device
        self.threads = threads
        self.batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()
        self.dim = 384

    def _load(self):
        if self._model is None:
            import torch
            from sentence_transformers import SentenceTransformer

            if self.device == "cpu":
                torch.set_num_threads(self.threads)
            log.info("loading embedding model %s on %s", self.model_path.name, self.device)
            with timed_load("embedding"):
                self._model = SentenceTransformer(str(self.model_path), device=self.device, local_files_only=True)
            self.dim = int(self._model.get_embedding_dimension())
        return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            model = self._load()
            vecs = model.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                                convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vecs, dtype=np.float32)
