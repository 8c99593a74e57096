"""Cloudglue's deep search (`/deepSearch`): several model-planned searches merged and explained
(`engine.deep_search`), synchronous or in the background; stored, listable, cancellable, deletable."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool

from api.background import Background
from api.deps import MAX_OFFSET, ServicesDep
from api.protocol import NewDeepSearch, day_ms
from api.responses import errors
from api.responses.search_deep import DeepSearchDeleted, DeepSearchList, DeepSearchObject
from api.services import Services
from clipcite.errors import ClipciteError, InvalidRequest
from clipcite.media import file_id_of
from engine.deep_search import DeepSearcher, DeepSearchOutcome
from engine.filters import Group, Match, parse_filter
from engine.search import SearchQuery

log = logging.getLogger(__name__)
router = APIRouter(tags=["deep-search"])


def _query(svc: Services, body: NewDeepSearch) -> SearchQuery:
    kb = body.knowledge_base
    flt = parse_filter(kb.filter, param="knowledge_base.filter") if kb.source == "collections" else Group()
    collections: list[str] | None = None
    if kb.source == "collections":
        collections = list(kb.collections or [])
        for cid in collections:
            svc.catalog.library.get_collection(cid)
    elif kb.source == "files":
        ids = [file_id_of(f) or f for f in kb.files or []]
        for f in ids:
            svc.catalog.library.get_file(f)
        flt.must.append(Match("file_id", tuple(ids)))
    # `files` and `default` sources search every collection (`None`), the files by filter.
    return SearchQuery(query=body.query, collections=collections, limit=body.limit,
                       filter=flt if not flt.is_empty() else None)


def _obj(sid: str, created: float, body: NewDeepSearch, status: str, found: DeepSearchOutcome | None = None,
         error: ClipciteError | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": sid, "object": "deep_search", "status": status, "created_at": created,
                           "query": body.query, "scope": body.scope, "limit": body.limit}
    if found is not None:
        results = []
        for r in found.results:
            s = r.hit.segment
            item: dict[str, Any] = {"type": "segment", "id": s.segment_id, "segment_id": s.segment_id,
                                    "file_id": s.file_id, "collection_id": s.collection_id, "score": r.score,
                                    "context": r.context, "start_time": s.start_time, "end_time": s.end_time,
                                    "filename": s.file_info.get("filename"),
                                    "title": f"{s.file_info.get('filename')} {s.start_time:.1f}-{s.end_time:.1f}s",
                                    "thumbnail_url": f"/v1/files/{s.file_id}/segments/{s.segment_id}/thumbnail"}
            if s.metadata:
                item["metadata"] = s.metadata
            results.append(item)
        if body.scope == "file":  # one result per file, its best moment's
            seen: set[str] = set()
            files = []
            for item in results:
                if item["file_id"] not in seen:
                    seen.add(item["file_id"])
                    files.append({k: item[k] for k in ("id", "file_id", "collection_id", "score", "context",
                                                       "filename")} | {"type": "file", "id": item["file_id"]})
            results = files
        out.update(text=found.text, results=results, total=len(results),
                   usage={"input_tokens": found.prompt_tokens, "output_tokens": found.completion_tokens,
                          "total_tokens": found.prompt_tokens + found.completion_tokens,
                          "search_calls": found.search_calls})
        if body.include and "search_queries" in body.include:
            out["search_queries"] = [{"query": p.query, "search_modalities": ["general_content", "speech_lexical",
                                                                              "ocr_lexical"],
                                      "scope": "segment", "result_count": p.result_count} for p in found.plans]
    if error is not None:
        out["error"] = {"message": error.message, "type": error.error_type,
                        "code": str(error.code or error.status_code)}
    return out


async def _run(svc: Services, sid: str, created_ms: int, body: NewDeepSearch, q: SearchQuery) -> dict[str, Any]:
    searcher = DeepSearcher(svc.search, svc.generator)
    try:  # a background search has no client waiting: no request deadline
        found = await svc.model.call(searcher.run, q, body.exclude_weak_results, deadline=not body.background)
    except ClipciteError as exc:
        obj = _obj(sid, created_ms / 1000, body, "failed", error=exc)
    else:
        obj = _obj(sid, created_ms / 1000, body, "completed", found)
    current = await run_in_threadpool(_status_of, svc, sid)
    if current != "cancelled":
        await run_in_threadpool(svc.catalog.stored.put_deep_search, sid, created_ms, obj)
    return obj


def _status_of(svc: Services, sid: str) -> str | None:
    try:
        return str(svc.catalog.stored.get_deep_search(sid)["status"])
    except ClipciteError:
        return None


@router.post("/deepSearch", summary="Deep search: model-planned searches, merged and explained",
             response_model=DeepSearchObject, response_model_exclude_unset=True, responses=errors(400, 404, 503))
async def create_deep_search(svc: ServicesDep, body: NewDeepSearch, request: Request) -> Any:
    q = await run_in_threadpool(_query, svc, body)
    sid, created_ms = f"ds_{uuid.uuid4().hex}", int(time.time() * 1000)
    pending = _obj(sid, created_ms / 1000, body, "in_progress")
    await run_in_threadpool(svc.catalog.stored.put_deep_search, sid, created_ms, pending)
    if body.background:
        async def work() -> None:
            try:
                await _run(svc, sid, created_ms, body, q)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - reported on the stored object
                log.exception("deep search %s failed", sid)
                failed = _obj(sid, created_ms / 1000, body, "failed", error=ClipciteError("internal server error"))
                svc.catalog.stored.put_deep_search(sid, created_ms, failed)
        Background.of(request).start(sid, work())
        return DeepSearchObject.model_validate(pending)
    return DeepSearchObject.model_validate(await _run(svc, sid, created_ms, body, q))


@router.get("/deepSearch/{search_id}", summary="A deep search", response_model=DeepSearchObject,
            response_model_exclude_unset=True, responses=errors(404))
def get_deep_search(svc: ServicesDep, search_id: str) -> DeepSearchObject:
    return DeepSearchObject.model_validate(svc.catalog.stored.get_deep_search(search_id))


@router.get("/deepSearch", summary="List deep searches", response_model=DeepSearchList,
            response_model_exclude_unset=True, responses=errors(400))
def list_deep_searches(svc: ServicesDep, limit: Annotated[int, Query(ge=1, le=100)] = 50,
                       offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
                       status: Annotated[str | None, Query(pattern="^(in_progress|completed|failed|cancelled)$")]
                       = None,
                       created_before: str | None = None, created_after: str | None = None) -> DeepSearchList:
    rows, total = svc.catalog.stored.list_deep_searches(limit, offset, status, day_ms(created_after, "created_after"),
                                                        day_ms(created_before, "created_before"))
    keep = ("id", "object", "status", "created_at", "query", "scope", "total", "usage")
    return DeepSearchList.model_validate({"object": "list", "data": [{k: r[k] for k in keep if k in r} for r in rows],
                                          "total": total, "limit": limit, "offset": offset})


@router.post("/deepSearch/{search_id}/cancel", summary="Cancel a background deep search",
             response_model=DeepSearchObject, response_model_exclude_unset=True, responses=errors(400, 404))
def cancel_deep_search(svc: ServicesDep, search_id: str, request: Request) -> DeepSearchObject:
    data = svc.catalog.stored.get_deep_search(search_id)
    if data["status"] == "in_progress":
        if not Background.of(request).running(search_id):
            raise InvalidRequest("only background deep searches can be cancelled", param="id")
        Background.of(request).cancel(search_id)
        data["status"] = "cancelled"
        svc.catalog.stored.put_deep_search(search_id, int(data["created_at"] * 1000), data)
    return DeepSearchObject.model_validate(data)


@router.delete("/deepSearch/{search_id}", summary="Delete a deep search", response_model=DeepSearchDeleted,
               responses=errors(404))
def delete_deep_search(svc: ServicesDep, search_id: str, request: Request) -> DeepSearchDeleted:
    Background.of(request).cancel(search_id)
    svc.catalog.stored.delete_deep_search(search_id)
    return DeepSearchDeleted(id=search_id, object="deep_search", deleted=True)
