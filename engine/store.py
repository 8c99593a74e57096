"""One segment store interface over Qdrant's engine: embedded (qdrant-edge) or a server (qdrant-client).

Why one facade: the embedded shard is the zero-config default on a workstation; a Qdrant server or
cluster is the scale-out path. Both speak the same collection layout - a dense vector `dense`, sparse
lexical vectors `speech_lex` / `ocr_lex` / `visual_lex` (IDF modifier), payload indexes on the
filterable fields - and both execute the neutral filter tree from `engine.filters` natively, so
filters never post-filter a top-k in Python. Features a backend lacks raise loudly.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from clipcite.errors import Conflict
from engine.filters import NUM_PREFIX, Group, Match, Node, Range, Substring

log = logging.getLogger(__name__)

DENSE = "dense"
IMAGE = "image"  # CLIP image vectors, only in stores created with a CLIP model configured
SPARSE_NAMES = ("speech_lex", "ocr_lex", "visual_lex")
KEYWORD_INDEXES = ("collection_id", "file_id", "segment_id", "file_info.filename")
FLOAT_INDEXES = ("start_time", "end_time", "segment_duration")
USER_FIELDS = ("metadata", "segment_metadata")
# Embedded HNSW in bounded pieces. qdrant-edge builds its vector index only when `optimize()` is called,
# and holds the GIL while it does (measured: the process stalls for the whole build, 195 s for one
# 100k-point segment). New points go to an appendable segment searched exactly; once it passes
# EDGE_INDEXING_THRESHOLD_KB of vectors (about 5k segments) the next optimize() turns it into an HNSW +
# int8 segment of at most EDGE_MAX_SEGMENT_KB, so each stall is a few seconds and happens once per ~5k
# new segments, at the end of an ingest job rather than during a search.
EDGE_INDEXING_THRESHOLD_KB = 8_000
EDGE_MAX_SEGMENT_KB = 16_000
MAX_FACET_FILES = 1_000_000  # distinct files a listing filter can return
MAX_USER_INDEXES = 200  # payload indexes on user metadata paths, at most (each costs memory)


def user_index_plan(payloads: list[dict[str, Any]]) -> dict[str, str]:
    """Payload indexes the user's metadata needs: {path: "keyword" | "integer" | "float"}.

    Metadata keys are the user's own, so they cannot be declared up front; without an index Qdrant
    filters them by reading every candidate's payload (measured: 35-118 ms per filtered query at 10k
    segments, 2-3 ms with indexes). Text values get keyword indexes on the raw path, integers integer
    indexes, and every number (ranges, booleans) a float index on its `_num` mirror."""
    plan: dict[str, str] = {}

    def walk(prefix: str, value: Any, numeric: bool) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                if isinstance(k, str) and k and "." not in k:
                    walk(f"{prefix}.{k}", v, numeric)
            return
        items = value if isinstance(value, list) else [value]
        if numeric:
            if any(isinstance(v, (int, float)) for v in items):
                plan[prefix] = "float"
        elif any(isinstance(v, str) for v in items):
            plan[prefix] = "keyword"
        elif items and all(isinstance(v, int) and not isinstance(v, bool) for v in items):
            plan.setdefault(prefix, "integer")

    for payload in payloads:
        for field_name in USER_FIELDS:
            walk(field_name, payload.get(field_name) or {}, False)
            walk(f"_num.{field_name}", (payload.get("_num") or {}).get(field_name) or {}, True)
    return plan


class _IndexTracker:
    """Which user-metadata indexes exist (per process; creating an existing one again is harmless)."""

    def __init__(self) -> None:
        self.done: dict[str, str] = {}

    def missing(self, payloads: list[dict[str, Any]]) -> dict[str, str]:
        plan = {k: v for k, v in user_index_plan(payloads).items() if k not in self.done}
        room = MAX_USER_INDEXES - len(self.done)
        if len(plan) > room:
            log.warning("more than %d metadata fields: filters on the others run without payload indexes",
                        MAX_USER_INDEXES)
            plan = dict(list(plan.items())[:max(room, 0)])
        return plan


@dataclass
class SparseVec:
    indices: list[int]
    values: list[float]


@dataclass
class StorePoint:
    id: int
    dense: list[float]
    payload: dict[str, Any]
    sparse: dict[str, SparseVec] = field(default_factory=dict)
    image: list[float] | None = None


@dataclass
class Hit:
    id: int
    score: float
    payload: dict[str, Any]


@dataclass
class HybridQuery:
    dense: list[float] | None
    sparse: dict[str, SparseVec] = field(default_factory=dict)
    limit: int = 10
    prefetch_limit: int = 50
    image: list[float] | None = None  # a CLIP text vector: searches the `image` vector


def point_vectors(p: StorePoint, sparse_cls: Any, has_image: bool = False) -> dict[str, Any]:
    """Named vectors of a point in a backend's own sparse-vector class (empty sparse vectors omitted)."""
    vec: dict[str, Any] = {DENSE: p.dense}
    if has_image and p.image is not None:
        vec[IMAGE] = p.image
    for name, sv in p.sparse.items():
        if sv.indices:
            vec[name] = sparse_cls(indices=sv.indices, values=sv.values)
    return vec


def _searches(q: HybridQuery, has_image: bool, sparse_cls: Any) -> list[tuple[Any, str]]:
    """The (vector, name) searches a hybrid query runs, in a backend's sparse-vector class."""
    out: list[tuple[Any, str]] = []
    if q.dense is not None:
        out.append((q.dense, DENSE))
    if has_image and q.image is not None:
        out.append((q.image, IMAGE))
    out += [(sparse_cls(indices=sv.indices, values=sv.values), n) for n, sv in q.sparse.items() if sv.indices]
    return out


class SegmentStore(Protocol):
    has_image: bool

    def upsert(self, points: list[StorePoint]) -> None: ...
    def query(self, q: HybridQuery, flt: Group | None) -> list[Hit]: ...
    def scroll(self, flt: Group | None, limit: int = 10_000) -> list[Hit]: ...
    def count(self, flt: Group | None = None) -> int: ...
    def delete(self, flt: Group) -> None: ...
    def set_payload(self, flt: Group, payload: dict[str, Any], key: str | None = None) -> None: ...
    def file_ids(self, flt: Group | None) -> set[str]: ...
    def optimize(self) -> float: ...
    def close(self) -> None: ...


class _FilterBuilder:
    """Builds a backend's Filter from the neutral tree; `m` is the module holding the backend's classes."""

    def __init__(self, m: Any, range_cls: Any) -> None:
        self.m = m
        self.range_cls = range_cls

    def leaf(self, node: Node) -> Any:
        m = self.m
        if isinstance(node, Group):
            return self.group(node)
        if isinstance(node, Range):
            return m.FieldCondition(key=node.key,
                                    range=self.range_cls(gt=node.gt, lt=node.lt, gte=node.gte, lte=node.lte))
        if isinstance(node, Substring):
            return self.substring(node)
        assert isinstance(node, Match)
        strs = [v for v in node.values if isinstance(v, str)]
        ints = [v for v in node.values if isinstance(v, int) and not isinstance(v, bool)]
        bools = [v for v in node.values if isinstance(v, bool)]
        floats = [v for v in node.values if isinstance(v, float)]
        conds: list[Any] = []
        if strs:
            conds.append(m.FieldCondition(key=node.key, match=m.MatchAny(any=strs)))
        if ints:
            conds.append(m.FieldCondition(key=node.key, match=m.MatchAny(any=ints)))
        # Booleans and non-integral numbers match through the numeric mirror (qdrant-edge turns a bool
        # MatchValue into an integer and never matches a stored bool).
        for f in [float(b) for b in bools] + floats:
            conds.append(m.FieldCondition(key=f"{NUM_PREFIX}.{node.key}", range=self.range_cls(gte=f, lte=f)))
        return conds[0] if len(conds) == 1 else m.Filter(should=conds)

    def substring(self, node: Substring) -> Any:
        # Byte-wise substring match in both backends (MatchText would tokenise, and differently).
        return self.m.FieldCondition(key=node.key, match=self.m.MatchSubstring(node.text))

    def group(self, g: Group) -> Any:
        return self.m.Filter(
            must=[self.leaf(n) for n in g.must] or None,
            should=[self.leaf(n) for n in g.should] or None,
            must_not=[self.leaf(n) for n in g.must_not] or None,
        )

    def build(self, g: Group | None) -> Any:
        if g is None or g.is_empty():
            return None
        return self.group(g)


# --- embedded: qdrant-edge --------------------------------------------------------------------------


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


class EdgeStore:
    """qdrant-edge shard in-process. One process owns the shard (it holds a WAL lock); access is
    serialised with a lock because the shard handle is shared by the API and the ingest worker."""

    def __init__(self, path: Path, dim: int, image_dim: int | None = None) -> None:
        import qdrant_edge as q

        self.q = q
        self.path = Path(path)
        self.has_image = False
        self._lock = threading.RLock()
        self._filters = _FilterBuilder(_EdgeNamespace(), q.RangeFloat)
        self._indexes = _IndexTracker()
        if (self.path / "edge_config.json").exists() or (self.path.exists() and any(self.path.iterdir())):
            try:
                self.shard = q.EdgeShard.load(str(self.path))
            except Exception as exc:
                if "WouldBlock" in str(exc):  # the WAL is locked by another process
                    raise Conflict(f"the store in {self.path} is open in another process (a running `clipcite "
                                   "serve` or `clipcite index` on this data dir); stop it, or share a Qdrant "
                                   "server between processes (store=qdrant)") from exc
                raise
            self.has_image = _image_vector_ok(IMAGE in self._declared_vectors(), image_dim, str(self.path))
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
        import json

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

    def query(self, q: HybridQuery, flt: Group | None) -> list[Hit]:
        flt_obj = self._filters.build(flt)
        searches = _searches(q, self.has_image, self.q.SparseVector)
        if not searches:
            return []
        with self._lock:
            if len(searches) == 1:
                vec, using = searches[0]
                res = self.shard.query(self.q.QueryRequest(limit=q.limit, query=self.q.Query.Nearest(vec, using=using),
                                                           filter=flt_obj, with_payload=True))
            else:
                prefetches = [self.q.Prefetch(limit=q.prefetch_limit, query=self.q.Query.Nearest(v, using=u),
                                              filter=flt_obj) for v, u in searches]
                res = self.shard.query(self.q.QueryRequest(limit=q.limit, prefetches=prefetches,
                                                           query=self.q.Fusion.Rrf(k=60),  # type: ignore[arg-type]
                                                           filter=flt_obj,
                                                           with_payload=True))
        return [Hit(id=int(p.id), score=float(p.score), payload=dict(p.payload or {})) for p in res]

    def scroll(self, flt: Group | None, limit: int = 10_000) -> list[Hit]:
        out: list[Hit] = []
        offset = None
        with self._lock:
            while True:
                recs, offset = self.shard.scroll(self.q.ScrollRequest(limit=min(limit - len(out), 1000), offset=offset,
                                                                      filter=self._filters.build(flt),
                                                                      with_payload=True))
                out.extend(Hit(id=int(r.id), score=0.0, payload=dict(r.payload or {})) for r in recs)
                if offset is None or len(out) >= limit or not recs:
                    return out

    def count(self, flt: Group | None = None) -> int:
        with self._lock:
            return int(self.shard.count(self.q.CountRequest(exact=True, filter=self._filters.build(flt))))

    def delete(self, flt: Group) -> None:
        assert not flt.is_empty(), "refusing to delete with an empty filter"
        with self._lock:
            self.shard.update(self.q.UpdateOperation.delete_points_by_filter(self._filters.build(flt)))
            self.shard.flush()

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


# --- server: qdrant-client ----------------------------------------------------------------------------


class _ClientNamespace:
    """qdrant_client.models, with MatchSubstring taking its text positionally like qdrant_edge's."""

    def __init__(self, models: Any) -> None:
        self.models = models

    def __getattr__(self, name: str) -> Any:
        return getattr(self.models, name)

    def MatchSubstring(self, text):  # noqa: N802
        return self.models.MatchSubstring(substring=text)


class QdrantServerStore:
    """A Qdrant server or cluster via qdrant-client (`location=":memory:"` stands in for one in tests)."""

    def __init__(self, dim: int, *, url: str | None = None, api_key: str | None = None, location: str | None = None,
                 collection: str = "clipcite_segments", shards: int = 1, replication: int = 1,
                 image_dim: int | None = None) -> None:
        from qdrant_client import QdrantClient, models

        self.m = models
        self.collection = collection
        self.client = QdrantClient(url=url, api_key=api_key) if url else QdrantClient(location=location or ":memory:")
        self._filters = _FilterBuilder(_ClientNamespace(models), models.Range)
        self._indexes = _IndexTracker()
        self._local = url is None  # local mode ignores payload indexes (and warns about each)
        if not self.client.collection_exists(collection):
            vectors = {DENSE: models.VectorParams(size=dim, distance=models.Distance.COSINE)}
            if image_dim:
                vectors[IMAGE] = models.VectorParams(size=image_dim, distance=models.Distance.COSINE)
            self.client.create_collection(
                collection,
                vectors_config=vectors,
                sparse_vectors_config={n: models.SparseVectorParams(modifier=models.Modifier.IDF)
                                       for n in SPARSE_NAMES},
                shard_number=shards, replication_factor=replication,
            )
            for key in KEYWORD_INDEXES:
                self.client.create_payload_index(collection, key, models.PayloadSchemaType.KEYWORD)
            for key in FLOAT_INDEXES:
                self.client.create_payload_index(collection, key, models.PayloadSchemaType.FLOAT)
        declared = self.client.get_collection(collection).config.params.vectors
        self.has_image = _image_vector_ok(IMAGE in (declared if isinstance(declared, dict) else {}), image_dim,
                                          f"collection {collection}")

    def _ensure_indexes(self, payloads: list[dict[str, Any]]) -> None:
        if self._local:
            return
        schema = {"keyword": self.m.PayloadSchemaType.KEYWORD, "integer": self.m.PayloadSchemaType.INTEGER,
                  "float": self.m.PayloadSchemaType.FLOAT}
        for path, kind in self._indexes.missing(payloads).items():
            self.client.create_payload_index(self.collection, path, schema[kind], wait=True)
            self._indexes.done[path] = kind

    def upsert(self, points: list[StorePoint], batch: int = 256) -> None:
        self._ensure_indexes([p.payload for p in points])
        for start in range(0, len(points), batch):
            structs = [self.m.PointStruct(id=p.id, vector=point_vectors(p, self.m.SparseVector, self.has_image),
                                          payload=p.payload) for p in points[start:start + batch]]
            self.client.upsert(self.collection, structs, wait=True)

    def query(self, q: HybridQuery, flt: Group | None) -> list[Hit]:
        m = self.m
        flt_obj = self._filters.build(flt)
        searches = _searches(q, self.has_image, m.SparseVector)
        if not searches:
            return []
        if len(searches) == 1:
            vec, using = searches[0]
            res = self.client.query_points(self.collection, query=vec, using=using, query_filter=flt_obj,
                                           limit=q.limit, with_payload=True).points
        else:
            res = self.client.query_points(
                self.collection, prefetch=[m.Prefetch(query=v, using=u, limit=q.prefetch_limit, filter=flt_obj)
                                           for v, u in searches],
                query=m.FusionQuery(fusion=m.Fusion.RRF), query_filter=flt_obj, limit=q.limit, with_payload=True).points
        return [Hit(id=int(p.id), score=float(p.score), payload=dict(p.payload or {})) for p in res]

    def scroll(self, flt: Group | None, limit: int = 10_000) -> list[Hit]:
        out: list[Hit] = []
        offset = None
        while True:
            recs, offset = self.client.scroll(self.collection, scroll_filter=self._filters.build(flt),
                                              limit=min(1000, limit - len(out)), offset=offset, with_payload=True)
            out.extend(Hit(id=int(r.id), score=0.0, payload=dict(r.payload or {})) for r in recs)
            if offset is None or len(out) >= limit or not recs:
                return out

    def count(self, flt: Group | None = None) -> int:
        return int(self.client.count(self.collection, count_filter=self._filters.build(flt), exact=True).count)

    def delete(self, flt: Group) -> None:
        assert not flt.is_empty(), "refusing to delete with an empty filter"
        self.client.delete(self.collection, points_selector=self.m.FilterSelector(filter=self._filters.build(flt)),
                           wait=True)

    def set_payload(self, flt: Group, payload: dict[str, Any], key: str | None = None) -> None:
        self._ensure_indexes([{key: payload} if key else payload])
        self.client.set_payload(self.collection, payload=payload, key=key,
                                points=self.m.FilterSelector(filter=self._filters.build(flt)), wait=True)

    def optimize(self) -> float:
        return 0.0  # a Qdrant server runs its optimizers in the background by itself

    def file_ids(self, flt: Group | None) -> set[str]:
        res = self.client.facet(self.collection, "file_id", facet_filter=self._filters.build(flt),
                                limit=MAX_FACET_FILES, exact=True)
        return {str(h.value) for h in res.hits}

    def close(self) -> None:
        self.client.close()


def _image_vector_ok(declared: bool, image_dim: int | None, where: str) -> bool:
    """Image search works only if the store was created with the `image` vector (it cannot be added later)."""
    if image_dim and not declared:
        log.warning("a CLIP model is configured but %s was created without image vectors: image search is off "
                    "until the store is rebuilt (re-index into a new data dir or collection)", where)
    return declared


def open_store(kind: str, data_dir: Path, dim: int, image_dim: int | None = None, **server: Any) -> SegmentStore:
    if kind == "edge":
        return EdgeStore(Path(data_dir) / "store", dim, image_dim)
    if kind == "qdrant":
        return QdrantServerStore(dim, image_dim=image_dim, **server)
    raise ValueError(f"unknown store {kind!r}: use 'edge' or 'qdrant'")
