"""Cloudglue's `extract` jobs: entities as JSON (valid by grammar) from one file, video- or segment-level.

The file is indexed under the job's segmentation like a describe job (`describe.job_target`); once it is,
the extraction runs in the background under the model lease (one call per segment, or per chunk of the
video) and its result is kept with the job. A job whose index completed but whose extraction is neither
stored nor running (the server restarted) starts it again when read.
"""

from __future__ import annotations

import contextlib
import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool

from api.background import Background, model_job
from api.deps import MAX_OFFSET, ServicesDep
from api.file_views import file_segments, job_target
from api.protocol import NewExtract, day_ms
from api.responses import ExtractJob, ExtractList, JobDeleted, errors
from api.services import Services
from clipcite.errors import NotFound
from engine.catalog import IndexStatus
from engine.entities import EntityExtractor

router = APIRouter(tags=["extract"])
KIND = "extract"


def _result_key(job_id: str) -> str:
    return f"extract:{job_id}"


def _create(svc: Services, body: NewExtract) -> dict[str, Any]:
    frec, collection_id = job_target(svc, body.url, body.segmentation_id, body.segmentation_config)
    segment_level = body.segment_level() and not body.enable_metadata_mode
    config: dict[str, Any] = {"prompt": body.prompt, "schema": body.schema_,
                              "enable_video_level_entities": not segment_level,
                              "enable_segment_level_entities": segment_level,
                              "enable_transcript_mode": body.enable_transcript_mode,
                              "enable_metadata_mode": body.enable_metadata_mode}
    return svc.catalog.stored.new_media_job(KIND, collection_id, frec.id, body.url, config)


def _run(svc: Services, job: dict[str, Any]) -> dict[str, Any]:
    cfg = job["config"]
    extractor = EntityExtractor(svc.generator)
    if cfg.get("enable_metadata_mode"):
        rec = svc.catalog.library.get_file(job["file_id"])
        about = json.dumps({"filename": rec.filename, "bytes": rec.bytes, "created_at": rec.created_at,
                            "metadata": rec.metadata, "duration_seconds": rec.video_info.duration_seconds
                            if rec.video_info else None})
        found = extractor.from_text(about, cfg.get("prompt"), cfg.get("schema"))
    else:
        found = extractor.extract(file_segments(svc, job["collection_id"], job["file_id"]), cfg.get("prompt"),
                                  cfg.get("schema"), video_level=cfg["enable_video_level_entities"],
                                  segment_level=cfg["enable_segment_level_entities"],
                                  transcript_only=cfg.get("enable_transcript_mode", False))
    return {"entities": found.video,
            "segment_entities": [{"segment_id": s.segment_id, "start_time": s.start_time, "end_time": s.end_time,
                                  "entities": e} for s, e in found.segments],
            "usage": {"prompt_tokens": found.prompt_tokens, "completion_tokens": found.completion_tokens}}


def _out(svc: Services, request: Request, job: dict[str, Any], limit: int | None = 50, offset: int = 0) -> ExtractJob:
    out: dict[str, Any] = {"job_id": job["id"], "status": str(job["status"]), "url": job["url"],
                           "created_at": job["created_at"], "extract_config": job["config"]}
    with contextlib.suppress(NotFound):
        out["segmentation_id"] = svc.catalog.library.get_collection_file(job["collection_id"],
                                                                         job["file_id"]).segmentation_id
    if job["status"] == IndexStatus.FAILED:
        out["error"] = job["error"] or "the file was removed from the job's collection"
    if job["status"] != IndexStatus.COMPLETED:
        return ExtractJob.model_validate(out)
    result = svc.catalog.stored.get_summary(_result_key(job["id"]))
    if result is None:
        out["status"] = "processing"
        Background.of(request).start(_result_key(job["id"]), model_job(svc, _result_key(job["id"]), _run, svc, job))
        return ExtractJob.model_validate(out)
    if "error" in result:
        out["status"], out["error"] = "failed", result["error"]
        return ExtractJob.model_validate(out)
    if limit is not None:
        segs = result["segment_entities"]
        data: dict[str, Any] = {}
        if job["config"]["enable_video_level_entities"]:
            data["entities"] = result["entities"] or {}
        if job["config"]["enable_segment_level_entities"]:
            data["segment_entities"] = segs[offset:offset + limit]
            out.update(total=len(segs), limit=limit, offset=offset)
        out["data"] = data
    return ExtractJob.model_validate(out)


@router.post("/extract", summary="Create an extract job (entities as JSON from one file)", response_model=ExtractJob,
             response_model_exclude_unset=True, responses=errors(400, 404, 422))
async def create_extract(svc: ServicesDep, body: NewExtract, request: Request) -> ExtractJob:
    job = await run_in_threadpool(_create, svc, body)
    return _out(svc, request, job, limit=None)


@router.get("/extract/{job_id}", summary="An extract job, with its entities once completed", response_model=ExtractJob,
            response_model_exclude_unset=True, responses=errors(400, 404))
async def get_extract(svc: ServicesDep, job_id: str, request: Request,
                      limit: Annotated[int, Query(ge=1, le=100)] = 50,
                      offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
                      include_thumbnails: bool = False, include_chapters: bool = False,
                      include_shots: bool = False) -> ExtractJob:
    job = await run_in_threadpool(svc.catalog.stored.get_media_job, KIND, job_id)
    return _out(svc, request, job, limit, offset)


@router.get("/extract", summary="List extract jobs", response_model=ExtractList, response_model_exclude_unset=True,
            responses=errors(400))
async def list_extracts(svc: ServicesDep, request: Request, limit: Annotated[int, Query(ge=1, le=100)] = 50,
                        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
                        status: Annotated[str | None, Query(pattern="^(pending|processing|completed|failed)$")] = None,
                        created_before: str | None = None, created_after: str | None = None,
                        url: str | None = None) -> ExtractList:
    rows, total = await run_in_threadpool(svc.catalog.stored.list_media_jobs, KIND, limit, offset, status, url,
                                          day_ms(created_after, "created_after"),
                                          day_ms(created_before, "created_before"))
    return ExtractList(object="list", data=[_out(svc, request, r, limit=None) for r in rows], total=total,
                       limit=limit, offset=offset)


@router.delete("/extract/{job_id}", summary="Delete an extract job", response_model=JobDeleted, responses=errors(404))
def delete_extract(svc: ServicesDep, job_id: str, request: Request) -> JobDeleted:
    Background.of(request).cancel(_result_key(job_id))
    svc.catalog.stored.delete_media_job(KIND, job_id)
    return JobDeleted(id=job_id)
