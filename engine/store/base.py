"""The segment store's types, its interface and what both backends share.

Why one facade: the embedded shard is the zero-config default on a workstation; a Qdrant server or
cluster is the scale-out path. Both speak the same collection layout - a dense vector `dense`, sparse
lexical vectors `speech_lex` / `ocr_lex` / `visual_lex` (IDF modifier), payload indexes on the
filterable fields - and both execute the neutral filter tree from `engine.filters` natively, so
filters never post-filter a top-k in Python. Callers get `Segment`s (`Hit.segment`, `segments()`) and
never read the payload layout (`engine.payload` owns it). Features a backend lacks raise loudly.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from clipcite.domain import Segment
from clipcite.errors import UnsafeOperation
from engine.filters import Group
from engine.store.filter_build import FilterBuilder

log = logging.getLogger(__name__)

DENSE = "dense"
IMAGE = "image"  # CLIP image vectors, only in stores created with a CLIP model configured
SPARSE_NAMES = ("speech_lex", "ocr_lex", "visual_lex")
KEYWORD_INDEXES = ("collection_id", "file_id", "segment_id", "file_info.filename")
FLOAT_INDEXES = ("start_time", "end_time", "segment_duration")
MAX_FACET_FILES = 1_000_000  # distinct files a listing filter can return


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

    @property
    def segment(self) -> Segment:
        return Segment.from_payload(self.payload)


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
    dim: int  # dense vector size

    def upsert(self, points: list[StorePoint]) -> None: ...
    def update_vectors(self, points: list[StorePoint]) -> None: ...  # text vectors only; payload, image stay
    def query(self, q: HybridQuery, flt: Group | None) -> list[Hit]: ...
    def scroll(self, flt: Group | None, limit: int = 10_000) -> list[Hit]: ...
    def segments(self, flt: Group | None, limit: int = 10_000) -> list[Segment]: ...
    def get(self, ids: list[int]) -> list[Hit]: ...
    def count(self, flt: Group | None = None) -> int: ...
    def delete(self, flt: Group) -> None: ...
    def set_payload(self, flt: Group, payload: dict[str, Any], key: str | None = None) -> None: ...
    def file_ids(self, flt: Group | None) -> set[str]: ...
    def optimize(self) -> float: ...
    def close(self) -> None: ...


class StoreBackend:
    """What both backends share: hybrid query dispatch, paged scroll, guarded delete, segment views.
    A backend supplies the calls its client spells differently."""

    has_image: bool
    dim: int  # dense vector size
    _filters: FilterBuilder
    _sparse_cls: Any

    def _locked(self) -> contextlib.AbstractContextManager:
        return contextlib.nullcontext()

    def _nearest(self, vec: Any, using: str, limit: int, flt: Any) -> list[Any]:
        raise NotImplementedError

    def _fused(self, searches: list[tuple[Any, str]], q: HybridQuery, flt: Any) -> list[Any]:
        raise NotImplementedError

    def _scroll_page(self, flt: Any, limit: int, offset: Any) -> tuple[list[Any], Any]:
        raise NotImplementedError

    def _retrieve(self, ids: list[int]) -> list[Any]:
        raise NotImplementedError

    def _delete(self, flt: Any) -> None:
        raise NotImplementedError

    def query(self, q: HybridQuery, flt: Group | None) -> list[Hit]:
        flt_obj = self._filters.build(flt)
        searches = _searches(q, self.has_image, self._sparse_cls)
        if not searches:
            return []
        with self._locked():
            if len(searches) == 1:
                vec, using = searches[0]
                res = self._nearest(vec, using, q.limit, flt_obj)
            else:
                res = self._fused(searches, q, flt_obj)
        return [Hit(id=int(p.id), score=float(p.score), payload=dict(p.payload or {})) for p in res]

    def scroll(self, flt: Group | None, limit: int = 10_000) -> list[Hit]:
        out: list[Hit] = []
        offset = None
        flt_obj = self._filters.build(flt)
        with self._locked():
            while True:
                recs, offset = self._scroll_page(flt_obj, min(limit - len(out), 1000), offset)
                out.extend(Hit(id=int(r.id), score=0.0, payload=dict(r.payload or {})) for r in recs)
                if offset is None or len(out) >= limit or not recs:
                    return out

    def segments(self, flt: Group | None, limit: int = 10_000) -> list[Segment]:
        return [h.segment for h in self.scroll(flt, limit)]

    def get(self, ids: list[int]) -> list[Hit]:
        """Points by id (segment ids map to point ids deterministically): no scan of the file."""
        if not ids:
            return []
        with self._locked():
            recs = self._retrieve(ids)
        return [Hit(id=int(r.id), score=0.0, payload=dict(r.payload or {})) for r in recs]

    def delete(self, flt: Group) -> None:
        if flt.is_empty():  # a real check, not an assert: `python -O` must not turn this into "delete all"
            raise UnsafeOperation("refusing to delete with an empty filter")
        with self._locked():
            self._delete(self._filters.build(flt))


def image_vector_ok(declared: bool, image_dim: int | None, where: str) -> bool:
    """Image search works only if the store was created with the `image` vector (it cannot be added later)."""
    if image_dim and not declared:
        log.warning("a CLIP model is configured but %s was created without image vectors: image search is off "
                    "until the store is rebuilt (re-index into a new data dir or collection)", where)
    return declared
