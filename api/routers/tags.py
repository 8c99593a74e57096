"""Cloudglue's tags: label/value pairs on files and segments, kept in the catalog and on the store's
points (`engine.tags`), so they work in filters (`filter.tags`) and in search (`tag_lexical`,
`tag_semantic`, `label_filters`)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api.deps import MAX_OFFSET, ServicesDep
from api.protocol import NewTag, TagUpdate
from api.responses import TagDeleted, TagList, TagObject, errors
from api.services import Services
from clipcite.errors import NotFound
from engine.catalog import TagRecord
from engine.scopes import segment_scope
from engine.tags import sync_payloads

router = APIRouter(tags=["tags"])


def _obj(t: TagRecord) -> TagObject:
    out = {"id": t.id, "label": t.label, "value": t.value, "type": t.type, "file_id": t.file_id,
           "created_at": t.created_at}
    return TagObject.model_validate(out | ({"segment_id": t.segment_id} if t.segment_id else {}))


def _page(rows: list[TagRecord], total: int, limit: int, offset: int) -> TagList:
    return TagList(object="list", data=[_obj(t) for t in rows], total=total, limit=limit, offset=offset)


def _check_segment(svc: Services, file_id: str, segment_id: str) -> None:
    if not svc.store.count(segment_scope(file_id, segment_id)):
        raise NotFound(f"segment {segment_id!r} of file {file_id!r} not found", param="segment_id")


@router.post("/tags", summary="Tag a file or one of its segments", response_model=TagObject,
             response_model_exclude_unset=True, responses=errors(400, 404))
def create_tag(svc: ServicesDep, body: NewTag) -> TagObject:
    svc.catalog.library.get_file(body.file_id)
    if body.segment_id:
        _check_segment(svc, body.file_id, body.segment_id)
    tag = svc.catalog.tags.add(body.label, body.value, body.file_id, body.segment_id)
    sync_payloads(svc.catalog, svc.store, body.file_id)
    return _obj(tag)


@router.get("/tags", summary="List tags", response_model=TagList, response_model_exclude_unset=True,
            responses=errors(400))
def list_tags(svc: ServicesDep, type: Literal["file", "segment"] | None = None,  # noqa: A002 - Cloudglue's name
              limit: Annotated[int, Query(ge=1, le=100)] = 50,
              offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0) -> TagList:
    rows, total = svc.catalog.tags.list(type, limit, offset)
    return _page(rows, total, limit, offset)


@router.get("/tags/{tag_id}", summary="Get a tag", response_model=TagObject, response_model_exclude_unset=True,
            responses=errors(404))
def get_tag(svc: ServicesDep, tag_id: str) -> TagObject:
    return _obj(svc.catalog.tags.get(tag_id))


@router.put("/tags/{tag_id}", summary="Change a tag's label or value", response_model=TagObject,
            response_model_exclude_unset=True, responses=errors(400, 404))
def update_tag(svc: ServicesDep, tag_id: str, body: TagUpdate) -> TagObject:
    tag = svc.catalog.tags.update(tag_id, body.label, body.value)
    sync_payloads(svc.catalog, svc.store, tag.file_id)
    return _obj(tag)


@router.delete("/tags/{tag_id}", summary="Delete a tag", response_model=TagDeleted, responses=errors(404))
def delete_tag(svc: ServicesDep, tag_id: str) -> TagDeleted:
    tag = svc.catalog.tags.delete(tag_id)
    sync_payloads(svc.catalog, svc.store, tag.file_id)
    return TagDeleted(id=tag_id)


@router.get("/files/{file_id}/tags", summary="A file's tags (its own and its segments')", response_model=TagList,
            response_model_exclude_unset=True, responses=errors(404))
def file_tags(svc: ServicesDep, file_id: str) -> TagList:
    svc.catalog.library.get_file(file_id)
    rows, total = svc.catalog.tags.list(file_id=file_id, limit=100_000)
    return _page(rows, total, max(total, 1), 0)


@router.get("/files/{file_id}/segments/{segment_id}/tags", summary="A segment's tags", response_model=TagList,
            response_model_exclude_unset=True, responses=errors(404))
def segment_tags(svc: ServicesDep, file_id: str, segment_id: str) -> TagList:
    svc.catalog.library.get_file(file_id)
    _check_segment(svc, file_id, segment_id)
    rows, total = svc.catalog.tags.list(file_id=file_id, segment_id=segment_id, limit=100_000)
    return _page(rows, total, max(total, 1), 0)
