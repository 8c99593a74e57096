"""Named store scopes: the filter for a file, a collection, one membership, one segment, or a search.

Callers say which scope they mean instead of assembling `Group(must=[Match(...)])` by hand, so the payload
keys a scope rests on live in one place.
"""

from __future__ import annotations

from engine.filters import Group, Match


def file_scope(file_id: str) -> Group:
    """Every segment of a file, in every collection."""
    return Group(must=[Match("file_id", (file_id,))])


def collection_scope(collection_id: str) -> Group:
    return Group(must=[Match("collection_id", (collection_id,))])


def membership_scope(collection_id: str, file_id: str) -> Group:
    """A file's segments in one collection."""
    return Group(must=[Match("collection_id", (collection_id,)), Match("file_id", (file_id,))])


def segment_scope(file_id: str, segment_id: str) -> Group:
    return Group(must=[Match("file_id", (file_id,)), Match("segment_id", (segment_id,))])


def search_scope(collections: list[str] | None, flt: Group | None, file_ids: list[str] | None = None) -> Group:
    """What a question or search may see. `collections=None`: the whole library (no collection condition,
    instead of listing every collection)."""
    scope = Group(must=[Match("collection_id", tuple(collections))] if collections is not None else [])
    if file_ids:
        scope.must.append(Match("file_id", tuple(file_ids)))
    if flt is not None and not flt.is_empty():
        scope.must.append(flt)
    return scope


def scope_of(fields: dict[str, str]) -> Group:
    """A scope from field values ({"file_id": ...}, {"collection_id": ...}, or both), as recorded for a
    pending delete."""
    return Group(must=[Match(k, (v,)) for k, v in sorted(fields.items())])
