"""The segment payload layout, owned here and nowhere else: what a segment is stored as, and the filter
mirrors beside it (`_num`: every number as a float, for ranges and booleans; `_lc`: every text leaf
lower-cased between sentinels, for Like). The pipeline writes payloads with `segment_payload`, metadata
updates and the start-up backfill take their writes from `*_metadata_writes` / `text_mirror_write`, so a
mirror can never be written one way at index time and another way on update.
"""

from __future__ import annotations

import hashlib
from typing import Any

from clipcite.domain import Segment
from engine.filters import MIRRORED, NUM_PREFIX, TEXT_END, TEXT_PREFIX, TEXT_START, as_number


def point_id(segment_id: str) -> int:
    """Deterministic 63-bit point id: re-running a job overwrites its points instead of duplicating them,
    and one segment is fetched by id instead of scanning its file."""
    return int.from_bytes(hashlib.sha1(segment_id.encode()).digest()[:8], "big") >> 1


# One payload write: merge `payload` into the points' payload, under the nested `key` when given.
PayloadWrite = tuple[dict[str, Any], str | None]


def segment_payload(seg: Segment) -> dict[str, Any]:
    payload = seg.to_payload()
    payload["segment_duration"] = round(seg.end_time - seg.start_time, 3)
    payload.update(filter_mirrors(payload))
    return payload


def file_metadata_writes(metadata: dict[str, Any], filename: str) -> list[PayloadWrite]:
    """A file's new metadata and name on every segment of it. The whole `metadata` object is replaced (so
    removed keys stop matching); `file_info` is merged (its other keys stay)."""
    return [({"metadata": metadata}, None), ({"filename": filename}, "file_info"),
            *mirror_writes("metadata", metadata), *mirror_writes("file_info", {"filename": filename}, merge=True)]


def segment_metadata_writes(metadata: dict[str, Any]) -> list[PayloadWrite]:
    return [({"segment_metadata": metadata}, None), *mirror_writes("segment_metadata", metadata)]


def mirror_writes(field_name: str, value: dict[str, Any], merge: bool = False) -> list[PayloadWrite]:
    """Rewrite `field_name` in both filter mirrors: replaced, or with `merge` its keys merged in. The mirrors'
    field is set under its own key, so per-segment entries (`_num.segment_duration`) are untouched."""
    writes: list[PayloadWrite] = []
    mirrors = filter_mirrors({field_name: value})
    for prefix in (NUM_PREFIX, TEXT_PREFIX):
        part = mirrors[prefix].get(field_name, {})
        if merge:
            if part:
                writes.append((part, f"{prefix}.{field_name}"))
        else:
            writes.append(({field_name: part}, prefix))
    return writes


def text_mirror_write(payload: dict[str, Any]) -> PayloadWrite:
    """The `_lc` mirror of a stored payload (the start-up backfill for segments indexed before Like)."""
    return {TEXT_PREFIX: text_mirror(payload)}, None


def _map_leaves(value: Any, leaf: Any) -> Any:
    """A mirror of a payload tree: `leaf(x)` for each scalar (flat lists keep their mapped items), with
    leaves that map to None and emptied branches dropped."""
    if isinstance(value, dict):
        out = {k: _map_leaves(v, leaf) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None and v != {} and v != []}
    if isinstance(value, list):
        items = [leaf(v) for v in value if not isinstance(v, (dict, list))]
        return [i for i in items if i is not None] or None
    return leaf(value)


def _number_leaf(value: Any) -> float | None:
    if isinstance(value, (bool, int, float)):  # booleans as 1.0 / 0.0: qdrant-edge cannot match bools
        return float(value)
    if isinstance(value, str):
        return as_number(value)
    return None


def _text_leaf(value: Any) -> str | None:
    if isinstance(value, bool):
        value = "true" if value else "false"
    elif isinstance(value, (int, float)):
        value = str(value)
    if not isinstance(value, str):
        return None
    return f"{TEXT_START}{value.replace(TEXT_START, '').replace(TEXT_END, '').lower()}{TEXT_END}"


def numeric_mirror(payload: dict[str, Any], keys: tuple[str, ...] = MIRRORED) -> dict[str, Any]:
    """Build the `_num` mirror: every leaf under `keys` that reads as a number, as a float."""
    mirror = {k: _map_leaves(payload.get(k) or {}, _number_leaf) for k in keys}
    mirror["segment_duration"] = payload.get("segment_duration")
    return {k: v for k, v in mirror.items() if v not in (None, {})}



def text_mirror(payload: dict[str, Any], keys: tuple[str, ...] = MIRRORED + ("file_id", "speakers")) -> dict[str, Any]:
    """Build the `_lc` mirror for Like: every scalar leaf under `keys` as text, lower-cased between sentinels."""
    mirror = {k: _map_leaves(payload.get(k), _text_leaf) for k in keys if payload.get(k) is not None}
    return {k: v for k, v in mirror.items() if v not in (None, {}, [])}


def filter_mirrors(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload fields filters run on besides the originals: `_num` (numbers) and `_lc` (Like)."""
    return {NUM_PREFIX: numeric_mirror(payload), TEXT_PREFIX: text_mirror(payload)}
