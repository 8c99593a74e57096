"""Cloudglue's `find_moments`: every moment of one video matching one criterion, scored, with boundaries.

The video is indexed like a describe job (or the describe job named by `describe_job_id` is used); the
search and the model's judgements (`engine.find_moments`) run in the background under the model lease and the
moments are kept with the run. Reads shape the answer only (`limit`, `min_score`, `sort`);
`total_moments` is always the full count.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool

from api.background import Background, model_job
from api.deps import ServicesDep
from api.file_views import file_segments, job_target
from api.protocol import NewFindMoments, day_ms
from api.responses import FindMomentsDeleted, FindMomentsJob, FindMomentsList, errors
from api.services import Services
from engine.catalog import IndexStatus
from engine.find_moments import Criterion, MomentFinder

router = APIRouter(tags=["find-moments"])
KIND = "find_moments"
ENGINE_VERSION = 1


def _key(job_id: str) -> str:
    return f"moments:{job_id}"


def _create(svc: Services, body: NewFindMoments) -> dict[str, Any]:
    if body.describe_job_id:
        pinned = svc.catalog.stored.get_media_job("describe", body.describe_job_id)
        frec = svc.catalog.library.get_file(pinned["file_id"])
        collection_id = pinned["collection_id"]
    else:
        frec, collection_id = job_target(svc, body.url, None, None)
    criterion = body.criterion.model_dump(exclude_none=True)
    config = {"criterion": criterion,
              "criterion_hash": hashlib.sha1(json.dumps(criterion, sort_keys=True).encode()).hexdigest()[:16],
              "describe_job_id": body.describe_job_id, "signals_required": body.signals_required,
              "boundary_policy": body.boundary_policy,
              "speaker_filter": body.speaker_filter.model_dump(exclude_none=True) if body.speaker_filter else None,
              "min_duration_seconds": body.min_duration_seconds, "max_duration_seconds": body.max_duration_seconds,
              "cache_policy": body.cache_policy, "engine_version": ENGINE_VERSION}
    return svc.catalog.stored.new_media_job(KIND, collection_id, frec.id, body.url, config)


def _run(svc: Services, job: dict[str, Any]) -> dict[str, Any]:
    cfg = job["config"]
    c = cfg["criterion"]
    crit = Criterion(name=c["name"], instructions=c["instructions"], moment_schema=c.get("moment_schema"),
                     signals=tuple(cfg.get("signals_required") or Criterion.signals),
                     boundary=cfg["boundary_policy"], min_duration=cfg["min_duration_seconds"],
                     max_duration=cfg["max_duration_seconds"],
                     speakers=tuple((cfg.get("speaker_filter") or {}).get("speakers") or ()))
    rec = svc.catalog.library.get_file(job["file_id"])
    duration = rec.video_info.duration_seconds if rec.video_info else 0.0
    found = MomentFinder(svc.embedder, svc.generator).find(
        crit, file_segments(svc, job["collection_id"], job["file_id"]), duration)
    scoring = c.get("scoring")
    moments = []
    for i, m in enumerate(found):
        out: dict[str, Any] = {"moment_id": f"{job['id']}:{i}", "start_time": m.start, "end_time": m.end,
                               "title": m.title, "reason": m.reason, "rank_score": m.rank,
                               "evidence": {"signals": m.signals}}
        if m.speakers:
            out["speakers"] = m.speakers
        if m.properties:
            out["properties"] = m.properties
        if scoring:  # the model's 0-10 judgement on the criterion's own scale
            lo, hi = scoring["min"], scoring["max"]
            share = m.score / 10 if scoring.get("higher_is_better", True) else 1 - m.score / 10
            value = lo + (hi - lo) * share
            out["criterion_score"] = {"key": scoring["key"], "value": round(value, 3), "min": lo, "max": hi}
        moments.append(out)
    return {"moments": moments}


def _status(svc: Services, request: Request, job: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
    """The run's status and stored result; a completed index without result (re)starts the search."""
    if job["config"].get("cancelled"):
        return "cancelled", None
    if job["status"] != IndexStatus.COMPLETED:
        return str(job["status"]), None
    result = svc.catalog.stored.get_summary(_key(job["id"]))
    if result is None:
        Background.of(request).start(_key(job["id"]), model_job(svc, _key(job["id"]), _run, svc, job))
        return "processing", None
    return ("failed", result) if "error" in result else ("completed", result)


def _out(svc: Services, request: Request, job: dict[str, Any], limit: int | None = None,
         min_score: float | None = None, sort: str = "rank") -> FindMomentsJob:
    status, result = _status(svc, request, job)
    out: dict[str, Any] = {"job_id": job["id"], "status": status, "created_at": job["created_at"], "url": job["url"],
                           "find_moments_config": job["config"]}
    if status == "failed":
        out["error"] = (result or {}).get("error") or job["error"] or "the file could not be indexed"
    if status == "completed" and result is not None:
        moments = result["moments"]
        out["total_moments"] = len(moments)
        shown = [m for m in moments if min_score is None or m["rank_score"] >= min_score]
        if sort == "time":
            shown.sort(key=lambda m: m["start_time"])
        out["moments"] = shown[:limit] if limit is not None else shown
    return FindMomentsJob.model_validate(out)


@router.post("/find-moments", summary="Find every moment of a video matching a criterion",
             response_model=FindMomentsJob, response_model_exclude_unset=True, responses=errors(400, 404, 422))
async def create_find_moments(svc: ServicesDep, body: NewFindMoments, request: Request) -> FindMomentsJob:
    job = await run_in_threadpool(_create, svc, body)
    return _out(svc, request, job)


@router.get("/find-moments/{job_id}", summary="A find-moments run, with its moments once completed",
            response_model=FindMomentsJob, response_model_exclude_unset=True, responses=errors(400, 404))
async def get_find_moments(svc: ServicesDep, job_id: str, request: Request,
                           limit: Annotated[int | None, Query(ge=1, le=1000)] = None,
                           min_score: Annotated[float | None, Query(ge=0, le=1)] = None,
                           sort: Literal["rank", "time"] = "rank") -> FindMomentsJob:
    job = await run_in_threadpool(svc.catalog.stored.get_media_job, KIND, job_id)
    return _out(svc, request, job, limit, min_score, sort)


@router.get("/find-moments", summary="List find-moments runs", response_model=FindMomentsList,
            response_model_exclude_unset=True, responses=errors(400))
async def list_find_moments(svc: ServicesDep, request: Request, limit: Annotated[int, Query(ge=1, le=100)] = 50,
                            cursor: Annotated[str | None, Query(pattern=r"^\d{1,18}$")] = None,
                            status: Annotated[str | None, Query(pattern="^(pending|processing|completed|failed)$")]
                            = None, created_before: str | None = None, created_after: str | None = None,
                            url: str | None = None) -> FindMomentsList:
    offset = int(cursor or 0)
    rows, total = await run_in_threadpool(svc.catalog.stored.list_media_jobs, KIND, limit, offset, status, url,
                                          day_ms(created_after, "created_after"),
                                          day_ms(created_before, "created_before"))
    nxt = str(offset + limit) if offset + limit < total else None
    return FindMomentsList(runs=[_out(svc, request, r, limit=0) for r in rows], total=total, next_cursor=nxt)


@router.delete("/find-moments/{job_id}", summary="Delete a find-moments run", response_model=FindMomentsDeleted,
               responses=errors(404))
def delete_find_moments(svc: ServicesDep, job_id: str, request: Request) -> FindMomentsDeleted:
    was_running = Background.of(request).running(_key(job_id))
    Background.of(request).cancel(_key(job_id))
    svc.catalog.stored.delete_media_job(KIND, job_id)
    return FindMomentsDeleted(job_id=job_id, deleted=True, refunded=was_running)
