"""The embedded backend: a qdrant-edge shard in this process."""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

from clipcite.errors import Conflict
from engine.filters import Group
from engine.store.base import (
    DENSE,
    FLOAT_INDEXES,
    IMAGE,
    KEYWORD_INDEXES,
    MAX_FACET_FILES,
    SPARSE_NAMES,
    HybridQuery,
    StoreBackend,
    StorePoint,
    image_vector_ok,
    point_vectors,
)
from engine.store.filter_build import FilterBuilder
from engine.store.indexes import IndexTracker

log = logging.getLogger(__name__)

# Embedded HNSW in bounded pieces. qdrant-edge builds its vector index only when `optimize()` is called,
# and holds the GIL while it does (measured: the process stalls for the whole build, 195 s for one
# 100k-point segment). New points go to an appendable segment searched exactly; once it passes
# EDGE_INDEXING_THRESHOLD_KB of vectors (about 5k segments) the next optimize() turns it into an HNSW +
# int8 segment of at most EDGE_MAX_SEGMENT_KB, so each stall is a few seconds and happens once per ~5k
# new segments, at the end of an ingest job rather than during a search.
EDGE_INDEXING_THRESHOLD_KB = 8_000
EDGE_MAX_SEGMENT_KB = 16_000


class _EdgeNamespace:
    """Adapts qdrant_edge's constructors to keyword names shared with qdrant_client.models."""

    def __init__(self) -> None:
        import qdrant_edge as q

        self.q = q

    def FieldCondition(self, key, match=None, range=None):  # noqa: N802 - mirrors the class name
        return self.q.FieldCondition(key=key, match=match, range=range)

    def MatchAny(self, any):  # noqa: N802,A002
        return self.q.MatchAny(any)

    def MatchValue(self, value):  # noqa: N802
        return self.q.MatchValue(value)

    def MatchSubstring(self, text):  # noqa: N802
        return self.q.MatchSubstring(text)

    def Filter(self, must=None, should=None, must_not=None):  # noqa: N802
        return self.q.Filter(must=must, should=should, must_not=must_not)


class EdgeStore(StoreBackend):
    """qdrant-edge shard in-process. One process owns the shard (it holds a WAL lock); access is
    serialised with a lock because the shard handle is shared by the API and the ingest worker."""

    def __init__(self, path: Path, dim: int, image_dim: int | None = None) -> None:
        import qdrant_edge as q

        self.q = q
        self.path = Path(path)
        self.dim = dim
        self.has_image = False
        self._lock = threading.RLock()
        self._filters = FilterBuilder(_EdgeNamespace(), q.RangeFloat)
        self._sparse_cls = q.SparseVector
        self._indexes = IndexTracker()
        if (self.path / "edge_config.json").exists() or (self.path.exists() and any(self.path.iterdir())):
            try:
                self.shard = q.EdgeShard.load(str(self.path))
            except Exception as exc:
                if "WouldBlock" in str(exc):  # the WAL is locked by another process
                    raise Conflict(f"the store in {self.path} is open in another process (a running `clipcite "
                                   "serve` or `clipcite index` on this data dir); stop it, or share a Qdrant "
                                   "server between processes (store=qdrant)") from exc
                raise
            self.has_image = image_vector_ok(IMAGE in self._declared_vectors(), image_dim, str(self.path))
        else:
            self.path.mkdir(parents=True, exist_ok=True)
            vectors = {DENSE: q.EdgeVectorParams(size=dim, distance=q.Distance.Cosine)}
            if image_dim:
                vectors[IMAGE] = q.EdgeVectorParams(size=image_dim, distance=q.Distance.Cosine)
                self.has_image = True
            cfg = q.EdgeConfig(
                vectors=vectors,
                sparse_vectors={n: q.EdgeSparseVectorParams(modifier=q.Modifier.Idf) for n in SPARSE_NAMES},
                optimizers=q.EdgeOptimizersConfig(indexing_threshold=EDGE_INDEXING_THRESHOLD_KB,
                                                  max_segment_size=EDGE_MAX_SEGMENT_KB),
                quantization_config=q.ScalarQuantizationConfig(type=q.ScalarType.Int8, always_ram=True),
            )
            self.shard = q.EdgeShard.create(str(self.path), cfg)
            for key in KEYWORD_INDEXES:
                self.shard.update(q.UpdateOperation.create_field_index(key, q.PayloadSchemaType.Keyword))
            for key in FLOAT_INDEXES:
                self.shard.update(q.UpdateOperation.create_field_index(key, q.PayloadSchemaType.Float))

    def _declared_vectors(self) -> set[str]:
        try:
            return set(json.loads((self.path / "edge_config.json").read_text()).get("vectors") or {})
        except (OSError, ValueError):
            return {DENSE}

    def _ensure_indexes(self, payloads: list[dict[str, Any]]) -> None:
        schema = {"keyword": self.q.PayloadSchemaType.Keyword, "integer": self.q.PayloadSchemaType.Integer,
                  "float": self.q.PayloadSchemaType.Float}
        for path, kind in self._indexes.missing(payloads).items():
            self.shard.update(self.q.UpdateOperation.create_field_index(path, schema[kind]))
            self._indexes.done[path] = kind

    def upsert(self, points: list[StorePoint]) -> None:
        if not points:
            return
        with self._lock:
            self._ensure_indexes([p.payload for p in points])
            self.shard.update(self.q.UpdateOperation.upsert_points(
                [self.q.Point(id=p.id, vector=point_vectors(p, self.q.SparseVector, self.has_image), payload=p.payload)
                 for p in points]))
            self.shard.flush()

    def update_vectors(self, points: list[StorePoint]) -> None:
        if not points:
            return
        with self._lock:
            self.shard.update(self.q.UpdateOperation.update_vectors(
                [self.q.PointVectors(id=p.id, vector=point_vectors(p, self.q.SparseVector)) for p in points]))
            self.shard.flush()

    def _locked(self) -> threading.RLock:
        return self._lock

    def _nearest(self, vec: Any, using: str, limit: int, flt: Any) -> list[Any]:
        return self.shard.query(self.q.QueryRequest(limit=limit, query=self.q.Query.Nearest(vec, using=using),
                                                    filter=flt, with_payload=True))

    def _fused(self, searches: list[tuple[Any, str]], q: HybridQuery, flt: Any) -> list[Any]:
        prefetches = [self.q.Prefetch(limit=q.prefetch_limit, query=self.q.Query.Nearest(v, using=u), filter=flt)
                      for v, u in searches]
        return self.shard.query(self.q.QueryRequest(limit=q.limit, prefetches=prefetches,
                                                    query=self.q.Fusion.Rrf(k=60),  # type: ignore[arg-type]
                                                    filter=flt, with_payload=True))

    def _scroll_page(self, flt: Any, limit: int, offset: Any) -> tuple[list[Any], Any]:
        return self.shard.scroll(self.q.ScrollRequest(limit=limit, offset=offset, filter=flt, with_payload=True))

    def _retrieve(self, ids: list[int]) -> list[Any]:
        point_ids: list[Any] = list(ids)
        return self.shard.retrieve(point_ids, True, False)

    def _delete(self, flt: Any) -> None:
        self.shard.update(self.q.UpdateOperation.delete_points_by_filter(flt))
        self.shard.flush()

    def count(self, flt: Group | None = None) -> int:
        with self._lock:
            return int(self.shard.count(self.q.CountRequest(exact=True, filter=self._filters.build(flt))))

    def set_payload(self, flt: Group, payload: dict[str, Any], key: str | None = None) -> None:
        """Merge `payload` into matching points' payload (under the nested `key` when given)."""
        with self._lock:
            self._ensure_indexes([{key: payload} if key else payload])
            self.shard.update(self.q.UpdateOperation.set_payload_by_filter(self._filters.build(flt), payload, key))
            self.shard.flush()

    def optimize(self) -> float:
        """Build HNSW for segments past the indexing threshold (usually a no-op); returns seconds spent."""
        with self._lock:
            t0 = time.perf_counter()
            self.shard.optimize()
            spent = time.perf_counter() - t0
        if spent > 0.5:
            log.info("vector index built for new segments in %.1f s", spent)
        return spent

    def file_ids(self, flt: Group | None) -> set[str]:
        """Files with at least one segment matching `flt` (a facet on the indexed file_id field)."""
        with self._lock:
            res = self.shard.facet(self.q.FacetRequest(key="file_id", limit=MAX_FACET_FILES, exact=True,
                                                       filter=self._filters.build(flt)))
        return {str(h.value) for h in res.hits}

    def close(self) -> None:
        with self._lock:
            try:
                self.shard.flush()
            finally:
                self.shard.close()
