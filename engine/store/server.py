"""The server backend: a Qdrant server or cluster through qdrant-client (its `:memory:` mode in tests)."""

from __future__ import annotations

from typing import Any

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


class _ClientNamespace:
    """qdrant_client.models, with MatchSubstring taking its text positionally like qdrant_edge's."""

    def __init__(self, models: Any) -> None:
        self.models = models

    def __getattr__(self, name: str) -> Any:
        return getattr(self.models, name)

    def MatchSubstring(self, text):  # noqa: N802
        return self.models.MatchSubstring(substring=text)


class QdrantServerStore(StoreBackend):
    """A Qdrant server or cluster via qdrant-client (`location=":memory:"` stands in for one in tests)."""

    def __init__(self, dim: int, *, url: str | None = None, api_key: str | None = None, location: str | None = None,
                 collection: str = "clipcite_segments", shards: int = 1, replication: int = 1,
                 image_dim: int | None = None) -> None:
        from qdrant_client import QdrantClient, models

        self.m = models
        self.dim = dim
        self.collection = collection
        if url == ":memory:":  # CLIPCITE_QDRANT_URL=:memory: - the in-process stand-in for a server (tests)
            url, location = None, url
        self.client = QdrantClient(url=url, api_key=api_key) if url else QdrantClient(location=location or ":memory:")
        self._filters = FilterBuilder(_ClientNamespace(models), models.Range)
        self._sparse_cls = models.SparseVector
        self._indexes = IndexTracker()
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
        self.has_image = image_vector_ok(IMAGE in (declared if isinstance(declared, dict) else {}), image_dim,
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

    def update_vectors(self, points: list[StorePoint], batch: int = 256) -> None:
        for start in range(0, len(points), batch):
            vecs = [self.m.PointVectors(id=p.id, vector=point_vectors(p, self.m.SparseVector))
                    for p in points[start:start + batch]]
            self.client.update_vectors(self.collection, vecs, wait=True)

    def _nearest(self, vec: Any, using: str, limit: int, flt: Any) -> list[Any]:
        return self.client.query_points(self.collection, query=vec, using=using, query_filter=flt, limit=limit,
                                        with_payload=True).points

    def _fused(self, searches: list[tuple[Any, str]], q: HybridQuery, flt: Any) -> list[Any]:
        m = self.m
        return self.client.query_points(
            self.collection, prefetch=[m.Prefetch(query=v, using=u, limit=q.prefetch_limit, filter=flt)
                                       for v, u in searches],
            query=m.FusionQuery(fusion=m.Fusion.RRF), query_filter=flt, limit=q.limit, with_payload=True).points

    def _scroll_page(self, flt: Any, limit: int, offset: Any) -> tuple[list[Any], Any]:
        return self.client.scroll(self.collection, scroll_filter=flt, limit=limit, offset=offset, with_payload=True)

    def _retrieve(self, ids: list[int]) -> list[Any]:
        return self.client.retrieve(self.collection, ids=ids, with_payload=True)

    def _delete(self, flt: Any) -> None:
        self.client.delete(self.collection, points_selector=self.m.FilterSelector(filter=flt), wait=True)

    def count(self, flt: Group | None = None) -> int:
        return int(self.client.count(self.collection, count_filter=self._filters.build(flt), exact=True).count)

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
