"""The segment store: one interface (`SegmentStore`) over Qdrant's engine, embedded (qdrant-edge,
`engine.store.edge`) or a server (qdrant-client, `engine.store.server`); see `engine.store.base`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.store.base import (
    DENSE,
    FLOAT_INDEXES,
    IMAGE,
    KEYWORD_INDEXES,
    SPARSE_NAMES,
    Hit,
    HybridQuery,
    SegmentStore,
    SparseVec,
    StorePoint,
)
from engine.store.edge import EdgeStore
from engine.store.indexes import user_index_plan
from engine.store.server import QdrantServerStore

__all__ = ["DENSE", "FLOAT_INDEXES", "IMAGE", "KEYWORD_INDEXES", "SPARSE_NAMES", "EdgeStore", "Hit", "HybridQuery",
           "QdrantServerStore", "SegmentStore", "SparseVec", "StorePoint", "open_store", "user_index_plan"]


def open_store(kind: str, data_dir: Path, dim: int, image_dim: int | None = None, **server: Any) -> SegmentStore:
    if kind == "edge":
        return EdgeStore(Path(data_dir) / "store", dim, image_dim)
    if kind == "qdrant":
        return QdrantServerStore(dim, image_dim=image_dim, **server)
    raise ValueError(f"unknown store {kind!r}: use 'edge' or 'qdrant'")
