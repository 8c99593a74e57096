"""`POST /v1/search`, `GET /v1/search`, `GET /v1/search/{id}` in Cloudglue's shapes."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool

from api.deps import ServicesDep
from api.protocol import SearchRequest
from api.responses import SearchList, SearchResponse, errors
from api.serialize import list_obj, speech_parts
from clipcite.domain import ScoredSegment
from clipcite.errors import InvalidRequest
from engine.catalog import now_ms
from engine.filters import parse_filter
from engine.search import SUPPORTED_MODALITIES, SearchQuery

router = APIRouter(tags=["search"])


def _segment_result(h: ScoredSegment, request: Request) -> dict[str, Any]:
    s = h.segment
    return {
        "thumbnail_url": str(request.url_for("segment_thumbnail", file_id=s.file_id, segment_id=s.segment_id)),
        "type": "segment", "id": s.segment_id, "segment_id": s.segment_id, "file_id": s.file_id,
        "collection_id": s.collection_id, "score": round(float(h.score), 6), "start_time": s.start_time,
        "end_time": s.end_time, "filename": s.file_info.get("filename"),
        "title": f"{s.file_info.get('filename')} {s.start_time:.1f}-{s.end_time:.1f}s",
        "speech": speech_parts(s),
        "scene_text": [{"text": t, "start_time": s.start_time, "end_time": s.end_time} for t in s.scene_text],
        "visual_description": [{"text": v, "start_time": s.start_time, "end_time": s.end_time} for v in s.visual],
        "metadata": s.metadata or None,
    }


def to_query(body: SearchRequest, svc) -> SearchQuery:
    if body.scope in ("face", "moment"):
        raise InvalidRequest(f"scope {body.scope!r} is not supported; use 'segment' or 'file'", param="scope")
    if body.source_image is not None:
        raise InvalidRequest("image queries need image vectors, which are not configured", param="source_image")
    if not body.query:
        raise InvalidRequest("query is required", param="query")
    if body.label_filters:
        raise InvalidRequest("label_filters need tag search, which is not supported", param="label_filters")
    modalities = tuple(body.search_modalities or SUPPORTED_MODALITIES)
    unsupported = [m for m in modalities if m not in SUPPORTED_MODALITIES]
    if unsupported:
        raise InvalidRequest(f"search modalities {unsupported} are not supported; use {list(SUPPORTED_MODALITIES)}",
                             param="search_modalities")
    if body.group_by_key and body.scope != "segment":
        raise InvalidRequest("group_by_key applies to segment scope", param="group_by_key")
    for cid in body.collections:
        svc.catalog.library.get_collection(cid)
    scope: Literal["segment", "file"] = "file" if body.scope == "file" else "segment"  # others refused above
    return SearchQuery(query=body.query, collections=body.collections, scope=scope, limit=body.limit,
                       filter=parse_filter(body.filter), threshold=body.threshold, modalities=modalities)


def run_search(svc, body: SearchRequest, request: Request) -> dict[str, Any]:
    q = to_query(body, svc)
    results: list[dict[str, Any]]
    if q.scope == "file":
        results = [{"type": "file", "id": f.file_id, "file_id": f.file_id, "collection_id": f.collection_id,
                    "score": round(f.score, 6), "filename": f.segments[0].segment.file_info.get("filename"),
                    "summary": (f.segments[0].segment.speech_text
                                or " | ".join(f.segments[0].segment.scene_text))[:300]}
                   for f in svc.search.files(q)]
    elif body.group_by_key == "file":
        groups = svc.search.files(q)
        results = [{"type": "segment_group", "file_id": f.file_id, "item_count": len(f.segments),
                    "best_score": round(f.score, 6), "matched_items": [_segment_result(h, request) for h in f.segments]}
                   for f in groups]
        if body.sort_by == "item_count":
            results.sort(key=lambda g: (g["item_count"], g["best_score"]), reverse=True)
    else:
        results = [_segment_result(h, request) for h in svc.search.segments(q)]
    out: dict[str, Any] = {"id": str(uuid.uuid4()), "object": "search", "query": body.query, "scope": body.scope,
                           "search_modalities": list(q.modalities), "results": results, "total": len(results),
                           "limit": body.limit, "created_at": now_ms()}
    if body.group_by_key:
        out["group_by_key"] = body.group_by_key
        out["group_count"] = len(results)
    svc.catalog.stored.put_search(out["id"], out["created_at"], out)
    return out


@router.post("/search", summary="Search segments or files across collections",
            responses={200: {"model": SearchResponse}, **errors(400, 404)})
async def search(svc: ServicesDep, body: SearchRequest, request: Request) -> dict[str, Any]:
    return await run_in_threadpool(run_search, svc, body, request)


@router.get("/search", summary="List stored searches",
            responses={200: {"model": SearchList}, **errors(400)})
def list_searches(svc: ServicesDep, limit: Annotated[int, Query(ge=1, le=100)] = 50,
                  offset: Annotated[int, Query(ge=0)] = 0) -> dict[str, Any]:
    rows, total = svc.catalog.stored.list_searches(limit, offset)
    return list_obj(rows, total, limit, offset)


@router.get("/search/{search_id}", summary="Get a stored search",
            responses={200: {"model": SearchResponse}, **errors(404)})
def get_search(svc: ServicesDep, search_id: str) -> dict[str, Any]:
    return svc.catalog.stored.get_search(search_id)
