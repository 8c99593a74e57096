"""Cloudglue's frame extractions: uniform frames of one file (`POST/GET /files/{id}/frames`, `GET/DELETE
/frames/{id}`). The frame times are arithmetic, so an extraction completes at once; each frame's JPEG is
decoded when first fetched (`GET /frames/{id}/{n}.jpg`, `max_width` honoured) and cached."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse

from api.deps import MAX_OFFSET, ServicesDep
from api.protocol import NewFrameExtraction
from api.responses import errors
from api.responses.jobs import FrameExtractionList, FrameExtractionObject, JobDeleted
from api.services import Services
from clipcite.errors import InvalidRequest, NotFound
from engine.catalog import MediaStatus
from ingest.thumbnails import thumbnail

router = APIRouter(tags=["frames"])
KIND = "frames"
MAX_FRAMES = 20_000


def _times(cfg: dict[str, Any], duration: float) -> list[float]:
    start = min(cfg.get("start_time_seconds") or 0.0, duration)
    end = min(cfg.get("end_time_seconds") or duration, duration)
    step = 1.0 / ((cfg.get("uniform_config") or {}).get("frames_per_second") or 1.0)
    n = max(0, math.ceil((end - start) / step - 1e-9))
    return [round(start + i * step, 3) for i in range(n)]


def _obj(svc: Services, request: Request, job: dict[str, Any], limit: int | None = None,
         offset: int = 0) -> FrameExtractionObject:
    rec = svc.catalog.library.get_file(job["file_id"])
    times = _times(job["config"], rec.video_info.duration_seconds if rec.video_info else 0.0)
    out: dict[str, Any] = {"frame_extraction_id": job["id"], "status": "completed", "created_at": job["created_at"],
                           "file_id": job["file_id"], "frame_extraction_config": job["config"],
                           "frame_count": len(times)}
    if limit is not None:
        thumbs = (job["config"].get("thumbnails_config") or {}).get("enable_frame_thumbnails", True)
        frames = []
        for i in range(offset, min(offset + limit, len(times))):
            frame: dict[str, Any] = {"id": f"{job['id']}:{i}", "timestamp": times[i]}
            if thumbs:
                frame["thumbnail_url"] = str(request.url_for("frame_image", frame_extraction_id=job["id"], index=i))
            frames.append(frame)
        out["data"] = {"object": "list", "frames": frames, "total": len(times), "limit": limit, "offset": offset}
    return FrameExtractionObject.model_validate(out)


@router.post("/files/{file_id}/frames", summary="Extract uniform frames from a file",
             response_model=FrameExtractionObject, response_model_exclude_unset=True, responses=errors(400, 404, 422))
def create_frames(svc: ServicesDep, file_id: str, body: NewFrameExtraction, request: Request) -> FrameExtractionObject:
    rec = svc.catalog.library.get_file(file_id)
    if rec.status == MediaStatus.UNUSABLE or rec.video_info is None:
        raise InvalidRequest(f"file {file_id!r} is not usable video: {rec.error}", param="file_id")
    config = body.model_dump(exclude_none=True)
    config.setdefault("uniform_config", {"frames_per_second": 1.0})
    if len(_times(config, rec.video_info.duration_seconds)) > MAX_FRAMES:
        raise InvalidRequest(f"more than {MAX_FRAMES} frames; lower frames_per_second or the time window",
                             param="uniform_config.frames_per_second")
    return _obj(svc, request, svc.catalog.stored.new_media_job(KIND, "", file_id, rec.uri, config))


@router.get("/files/{file_id}/frames", summary="A file's frame extractions", response_model=FrameExtractionList,
            response_model_exclude_unset=True, responses=errors(400, 404))
def list_frames(svc: ServicesDep, file_id: str, request: Request, limit: Annotated[int, Query(ge=1, le=100)] = 50,
                offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0) -> FrameExtractionList:
    rec = svc.catalog.library.get_file(file_id)
    rows, total = svc.catalog.stored.list_media_jobs(KIND, limit, offset, url=rec.uri)
    return FrameExtractionList(object="list", data=[_obj(svc, request, r) for r in rows], total=total, limit=limit,
                               offset=offset)


@router.get("/frames/{frame_extraction_id}", summary="A frame extraction with its frames",
            response_model=FrameExtractionObject, response_model_exclude_unset=True, responses=errors(400, 404))
def get_frames(svc: ServicesDep, frame_extraction_id: str, request: Request,
               limit: Annotated[int, Query(ge=1, le=1000)] = 50,
               offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0) -> FrameExtractionObject:
    return _obj(svc, request, svc.catalog.stored.get_media_job(KIND, frame_extraction_id), limit, offset)


@router.delete("/frames/{frame_extraction_id}", summary="Delete a frame extraction", response_model=JobDeleted,
               responses=errors(404))
def delete_frames(svc: ServicesDep, frame_extraction_id: str) -> JobDeleted:
    svc.catalog.stored.delete_media_job(KIND, frame_extraction_id)
    return JobDeleted(id=frame_extraction_id)


def frame_side(width: int | None, info_w: int, info_h: int) -> int:
    """The longest side that gives a frame `width` pixels wide (never wider than the video)."""
    w = min(width or info_w, info_w)
    return max(16, round(w * max(info_w, info_h) / max(info_w, 1)))


@router.get("/files/{file_id}/frame.jpg", name="file_frame", summary="The frame at a time (JPEG)",
            response_class=FileResponse,
            responses={200: {"content": {"image/jpeg": {}}, "description": "JPEG image"}, **errors(400, 404, 422)})
def file_frame(svc: ServicesDep, file_id: str, time_seconds: Annotated[float, Query(ge=0)],
               max_width: Annotated[int | None, Query(ge=16, le=4320)] = None) -> FileResponse:
    """A keyframe of a segmentation with `keyframe_config` (or any moment of the file)."""
    rec = svc.catalog.library.get_file(file_id)
    info = rec.video_info
    if info is None or time_seconds > info.duration_seconds:
        raise InvalidRequest("time_seconds is past the end of the video", param="time_seconds")
    path = thumbnail(Path(rec.path), time_seconds, svc.settings.resolved_data_dir / "frames",
                     max_side=frame_side(max_width, info.width, info.height))
    return FileResponse(path, media_type="image/jpeg")


@router.get("/frames/{frame_extraction_id}/{index}.jpg", name="frame_image", summary="One extracted frame (JPEG)",
            response_class=FileResponse,
            responses={200: {"content": {"image/jpeg": {}}, "description": "JPEG image"}, **errors(400, 404, 422)})
def frame_image(svc: ServicesDep, frame_extraction_id: str, index: Annotated[int, PathParam(ge=0)]) -> FileResponse:
    job = svc.catalog.stored.get_media_job(KIND, frame_extraction_id)
    rec = svc.catalog.library.get_file(job["file_id"])
    info = rec.video_info
    times = _times(job["config"], info.duration_seconds if info else 0.0)
    if not 0 <= index < len(times) or info is None:
        raise NotFound(f"frame {index} not found in {frame_extraction_id!r}", param="index")
    side = frame_side((job["config"].get("uniform_config") or {}).get("max_width"), info.width, info.height)
    path = thumbnail(Path(rec.path), times[index], svc.settings.resolved_data_dir / "frames", max_side=side)
    return FileResponse(path, media_type="image/jpeg")
