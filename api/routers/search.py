"""`POST /v1/search`, `GET /v1/search`, `GET /v1/search/{id}` in Cloudglue's shapes."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool

from api.deps import MAX_OFFSET, ServicesDep
from api.protocol import SearchRequest
from api.responses import Deleted, SearchList, SearchResponse, SearchResult, SegmentResult, errors
from api.serialize import file_result, page, segment_group, segment_result, wire_json
from clipcite.domain import ScoredSegment
from clipcite.errors import InvalidRequest
from engine.catalog import now_ms
from engine.filters import parse_filter
from engine.search import CONTENT_MODALITIES, SUPPORTED_MODALITIES, TAG_MODALITIES, SearchQuery

router = APIRouter(tags=["search"])


def _segment_result(h: ScoredSegment, request: Request) -> SegmentResult:
    s = h.segment
    return segment_result(h, str(request.url_for("segment_thumbnail", file_id=s.file_id, segment_id=s.segment_id)))


def to_query(body: SearchRequest, svc) -> SearchQuery:
    if body.scope in ("face", "moment"):
        raise InvalidRequest(f"scope {body.scope!r} is not supported; use 'segment' or 'file'", param="scope")
    if body.source_image is not None:
        raise InvalidRequest("image queries need image vectors, which are not configured", param="source_image")
    if not body.query:
        raise InvalidRequest("query is required", param="query")
    modalities = tuple(body.search_modalities or CONTENT_MODALITIES)
    unsupported = [m for m in modalities if m not in SUPPORTED_MODALITIES]
    if unsupported:
        raise InvalidRequest(f"search modalities {unsupported} are not supported; use {list(SUPPORTED_MODALITIES)}",
                             param="search_modalities")
    if body.label_filters and not any(m in TAG_MODALITIES for m in modalities):
        raise InvalidRequest("label_filters apply to the tag_lexical and tag_semantic modalities",
                             param="label_filters")
    if body.group_by_key and body.scope != "segment":
        raise InvalidRequest("group_by_key applies to segment scope", param="group_by_key")
    for cid in body.collections:
        svc.catalog.library.get_collection(cid)
    scope: Literal["segment", "file"] = "file" if body.scope == "file" else "segment"  # others refused above
    return SearchQuery(query=body.query, collections=body.collections, scope=scope, limit=body.limit,
                       filter=parse_filter(body.filter), threshold=body.threshold, modalities=modalities,
                       labels=tuple(body.label_filters or ()))


def run_search(svc, body: SearchRequest, request: Request) -> SearchResponse:
    q = to_query(body, svc)
    results: list[SearchResult]
    if q.scope == "file":
        results = [file_result(f) for f in svc.search.files(q)]
    elif body.group_by_key == "file":
        groups = [segment_group(f, [_segment_result(h, request) for h in f.segments]) for f in svc.search.files(q)]
        if body.sort_by == "item_count":
            groups.sort(key=lambda g: (g.item_count, g.best_score), reverse=True)
        results = [*groups]
    else:
        results = [_segment_result(h, request) for h in svc.search.segments(q)]
    out: dict[str, Any] = {"id": str(uuid.uuid4()), "object": "search", "query": body.query, "scope": body.scope,
                           "search_modalities": list(q.modalities), "results": results, "total": len(results),
                           "limit": body.limit, "created_at": now_ms()}
    if body.group_by_key:
        out["group_by_key"] = body.group_by_key
        out["group_count"] = len(results)
    response = SearchResponse.model_validate(out)
    svc.catalog.stored.put_search(response.id, response.created_at, wire_json(response))
    return response


@router.post("/search", summary="Search segments or files across collections",
            response_model=SearchResponse, response_model_exclude_unset=True, responses=errors(400, 404))
async def search(svc: ServicesDep, body: SearchRequest, request: Request) -> SearchResponse:
    return await run_in_threadpool(run_search, svc, body, request)


@router.get("/search", summary="List stored searches",
            response_model=SearchList, response_model_exclude_unset=True, responses=errors(400))
def list_searches(svc: ServicesDep, limit: Annotated[int, Query(ge=1, le=100)] = 50,
                  offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0) -> SearchList:
    rows, total = svc.catalog.stored.list_searches(limit, offset)
    return page(SearchList, [SearchResponse.model_validate(r) for r in rows], total, limit, offset)


@router.get("/search/{search_id}", summary="Get a stored search",
            response_model=SearchResponse, response_model_exclude_unset=True, responses=errors(404))
def get_search(svc: ServicesDep, search_id: str) -> SearchResponse:
    return SearchResponse.model_validate(svc.catalog.stored.get_search(search_id))


@router.delete("/search/{search_id}", summary="Delete a stored search", response_model=Deleted, responses=errors(404))
def delete_search(svc: ServicesDep, search_id: str) -> Deleted:
    svc.catalog.stored.delete_search(search_id)
    return Deleted.model_validate({"id": search_id, "object": "search", "deleted": True})
