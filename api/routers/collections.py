"""Collections and their videos (Cloudglue `media-descriptions` collections)."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from api.deps import ServicesDep
from api.protocol import AddCollectionFile, CollectionUpdate, NewCollection
from api.responses import (
    CollectionFileList,
    CollectionFileObject,
    CollectionList,
    CollectionObject,
    Deleted,
    MediaDescription,
    MediaDescriptionList,
    RemovedCollectionFile,
    errors,
)
from api.routers.files import LISTING_FILTER_DOC, files_matching
from api.serialize import collection_file_obj, collection_obj, list_obj, media_description
from api.services import Services
from clipcite.domain import Segment
from clipcite.errors import Conflict, InvalidRequest
from engine.catalog import CollectionRecord, IndexStatus, new_id, now_ms
from engine.scopes import collection_scope, membership_scope
from engine.summary import summarize
from ingest.library import add_to_collection
from ingest.segment import SegmentationConfig

log = logging.getLogger(__name__)
router = APIRouter(tags=["collections"])


@router.post("/collections", summary="Create a collection",
            responses={200: {"model": CollectionObject}, **errors(400)})
def create_collection(svc: ServicesDep, body: NewCollection) -> dict[str, Any]:
    if body.default_segmentation_config:
        SegmentationConfig.from_wire(body.default_segmentation_config, svc.settings.segment_seconds,
                                     param="default_segmentation_config")
    rec = CollectionRecord(id=new_id(), name=body.name, description=body.description,
                           collection_type=body.collection_type,
                           default_segmentation_config=body.default_segmentation_config, created_at=now_ms())
    return collection_obj(svc.catalog.library.add_collection(rec))


@router.get("/collections", summary="List collections",
            responses={200: {"model": CollectionList}, **errors(400)})
def list_collections(svc: ServicesDep, limit: Annotated[int, Query(ge=1, le=100)] = 50,
                     offset: Annotated[int, Query(ge=0)] = 0) -> dict[str, Any]:
    rows, total = svc.catalog.library.list_collections(limit, offset)
    return list_obj([collection_obj(c) for c in rows], total, limit, offset)


@router.get("/collections/{collection_id}", summary="Get a collection",
            responses={200: {"model": CollectionObject}, **errors(404)})
def get_collection(svc: ServicesDep, collection_id: str) -> dict[str, Any]:
    return collection_obj(svc.catalog.library.get_collection(collection_id))


@router.put("/collections/{collection_id}", summary="Rename or describe a collection",
            responses={200: {"model": CollectionObject}, **errors(400, 404)})
def update_collection(svc: ServicesDep, collection_id: str, body: CollectionUpdate) -> dict[str, Any]:
    return collection_obj(svc.catalog.library.update_collection(collection_id, body.name, body.description))


@router.delete("/collections/{collection_id}", summary="Delete a collection and its index",
            responses={200: {"model": Deleted}, **errors(404)})
def delete_collection(svc: ServicesDep, collection_id: str) -> dict[str, Any]:
    svc.library.delete_collection(collection_id)
    return {"id": collection_id, "object": "collection"}


def add_file(svc: Services, collection_id: str, body: AddCollectionFile) -> dict[str, Any]:
    coll = svc.catalog.library.get_collection(collection_id)
    if body.url and not body.file_id:
        raise InvalidRequest("adding by url is not supported here; upload the file first and pass file_id",
                             param="url")
    if body.segmentation_id and body.segmentation_config:
        raise InvalidRequest("give segmentation_id or segmentation_config, not both", param="segmentation_config")
    frec = svc.catalog.library.get_file(body.file_id or "")
    raw_cfg = body.segmentation_config or coll.default_segmentation_config
    cfg = SegmentationConfig.from_wire(raw_cfg, svc.settings.segment_seconds,
                                       param="segmentation_config" if body.segmentation_config
                                       else "default_segmentation_config")
    cf, queued = add_to_collection(svc.catalog, coll, frec, cfg, body.metadata)
    if queued:
        svc.worker.wake()
    return collection_file_obj(cf, frec)


@router.post("/collections/{collection_id}/videos", summary="Add a video to a collection (deprecated alias)",
            responses={200: {"model": CollectionFileObject}, **errors(400, 404, 409, 422)})
def add_video(svc: ServicesDep, collection_id: str, body: AddCollectionFile) -> dict[str, Any]:
    return add_file(svc, collection_id, body)


@router.post("/collections/{collection_id}/media", summary="Add media to a collection",
            responses={200: {"model": CollectionFileObject}, **errors(400, 404, 409, 422)})
def add_media(svc: ServicesDep, collection_id: str, body: AddCollectionFile) -> dict[str, Any]:
    return add_file(svc, collection_id, body)


@router.get("/collections/{collection_id}/videos", summary="List a collection's videos",
            responses={200: {"model": CollectionFileList}, **errors(400, 404)})
def list_videos(svc: ServicesDep, collection_id: str, limit: Annotated[int, Query(ge=1, le=100)] = 50,
                offset: Annotated[int, Query(ge=0)] = 0, status: str | None = None,
                filter: Annotated[str | None, Query(description=LISTING_FILTER_DOC)] = None) -> dict[str, Any]:
    svc.catalog.library.get_collection(collection_id)
    only = files_matching(svc, filter, collection_scope(collection_id))
    rows, total = svc.catalog.library.list_collection_files(collection_id, limit, offset, status, only=only)
    return list_obj([collection_file_obj(cf, svc.catalog.library.get_file(cf.file_id),
                                         svc.worker.progress_of(collection_id, cf.file_id)) for cf in rows],
                    total, limit, offset)


@router.get("/collections/{collection_id}/videos/{file_id}", summary="Get a video's status in a collection",
            responses={200: {"model": CollectionFileObject}, **errors(404)})
def get_video(svc: ServicesDep, collection_id: str, file_id: str) -> dict[str, Any]:
    svc.catalog.library.get_collection(collection_id)
    cf = svc.catalog.library.get_collection_file(collection_id, file_id)
    out = collection_file_obj(cf, svc.catalog.library.get_file(file_id), svc.worker.progress_of(collection_id, file_id))
    analysis = svc.current_analysis(file_id)
    if analysis is not None:  # where ingest time went, per stage (seconds)
        out["processing_seconds"] = {k: round(v, 3) for k, v in analysis.timings.items()}
    return out


@router.delete("/collections/{collection_id}/videos/{file_id}", summary="Remove a video from a collection",
            responses={200: {"model": RemovedCollectionFile}, **errors(404)})
def remove_video(svc: ServicesDep, collection_id: str, file_id: str) -> dict[str, Any]:
    svc.library.remove_from_collection(collection_id, file_id)
    return {"collection_id": collection_id, "file_id": file_id, "object": "collection_file"}


def file_segments(svc: Services, collection_id: str, file_id: str, start: float | None = None,
                  end: float | None = None) -> list[Segment]:
    segs = svc.store.segments(membership_scope(collection_id, file_id))
    if start is not None:
        segs = [s for s in segs if s.end_time > start]
    if end is not None:
        segs = [s for s in segs if s.start_time < end]
    return sorted(segs, key=lambda s: s.start_time)


def _describe(svc: Services, collection_id: str, file_id: str, start: float | None,
              end: float | None) -> dict[str, Any]:
    svc.catalog.library.get_collection(collection_id)
    cf = svc.catalog.library.get_collection_file(collection_id, file_id)
    if cf.status != IndexStatus.COMPLETED:
        raise Conflict(f"file {file_id} is {cf.status} in this collection; media descriptions exist once it completes",
                       param="file_id")
    return media_description(collection_id, svc.catalog.library.get_file(file_id),
                             file_segments(svc, collection_id, file_id, start, end))


@router.get("/collections/{collection_id}/videos/{file_id}/media-descriptions",
            summary="A video's segments: speech, scene text and visual descriptions",
            responses={200: {"model": MediaDescription}, **errors(400, 404, 409)})
async def get_media_descriptions(svc: ServicesDep, collection_id: str, file_id: str,
                           start_time_seconds: float | None = None, end_time_seconds: float | None = None,
                           response_format: str | None = None,
                           include_summary: Annotated[bool, Query(description="Add a map-reduce `summary` and "
                                                                  "`chapters` (generated once, then cached)")] = False
                           ) -> Any:
    if response_format not in (None, "json", "markdown"):
        raise InvalidRequest("response_format must be 'json' or 'markdown'", param="response_format")
    desc = await run_in_threadpool(_describe, svc, collection_id, file_id, start_time_seconds, end_time_seconds)
    if include_summary:
        desc.update(await video_summary(svc, collection_id, file_id))
    if response_format == "markdown":
        keep = ("collection_id", "file_id", "title", "duration_seconds", "content", "file", "summary", "chapters")
        return {k: desc[k] for k in keep if k in desc}
    return desc


async def video_summary(svc: Services, collection_id: str, file_id: str) -> dict[str, Any]:
    """Cloudglue's `summary` and `chapters`, cached per collection, file and segmentation. Generated under
    the model lease like a chat (admission bound, slot), never beside it in a pool thread."""
    cf = svc.catalog.library.get_collection_file(collection_id, file_id)
    key = f"{collection_id}:{file_id}:{cf.segmentation_id}"
    cached = svc.catalog.stored.get_summary(key)
    if cached is not None:
        return cached
    segments = await run_in_threadpool(file_segments, svc, collection_id, file_id)
    result = await svc.model.call(summarize, segments, svc.generator)
    out = {"summary": result.overview,
           "chapters": [{"index": i, "start_time": c.start_time, "end_time": c.end_time, "description": c.text}
                        for i, c in enumerate(result.chapters)],
           "total_chapters": len(result.chapters)}
    svc.catalog.stored.put_summary(key, out)
    return out


@router.get("/collections/{collection_id}/media-descriptions", summary="Media descriptions of every video",
            responses={200: {"model": MediaDescriptionList}, **errors(400, 404)})
def list_media_descriptions(svc: ServicesDep, collection_id: str, limit: Annotated[int, Query(ge=1, le=100)] = 50,
                            offset: Annotated[int, Query(ge=0)] = 0) -> dict[str, Any]:
    svc.catalog.library.get_collection(collection_id)
    rows, total = svc.catalog.library.list_collection_files(collection_id, limit, offset, status=IndexStatus.COMPLETED)
    data = []
    for cf in rows:
        desc = _describe(svc, collection_id, cf.file_id, None, None)
        data.append({"file_id": cf.file_id, "added_at": cf.added_at, "object": "collection_file",
                     "duration_seconds": desc["duration_seconds"], "file": desc["file"],
                     "data": {k: desc[k] for k in ("content", "title", "speech", "scene_text",
                                                   "visual_scene_description")}})
    return list_obj(data, total, limit, offset)
