"""Collections and their videos (Cloudglue `media-descriptions` collections)."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from api.deps import MAX_OFFSET, ServicesDep
from api.file_views import LISTING_FILTER_DOC, cached_summary, file_segments, files_matching
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
    VideoSummary,
    errors,
)
from api.serialize import (
    collection_file_obj,
    collection_obj,
    media_description,
    media_description_item,
    page,
)
from api.services import Services
from clipcite.errors import Conflict, InvalidRequest
from engine.catalog import CollectionFileRecord, CollectionRecord, IndexStatus, new_id, now_ms
from engine.scopes import collection_scope
from ingest.library import add_to_collection
from ingest.segment import SegmentationConfig
from ingest.stages.scene_text.ocr import appearances

log = logging.getLogger(__name__)
router = APIRouter(tags=["collections"])


@router.post("/collections", summary="Create a collection",
            response_model=CollectionObject, response_model_exclude_unset=True,
            responses=errors(400))
def create_collection(svc: ServicesDep, body: NewCollection) -> CollectionObject:
    if body.default_segmentation_config:
        SegmentationConfig.from_wire(body.default_segmentation_config, svc.settings.segment_seconds,
                                     param="default_segmentation_config")
    rec = CollectionRecord(id=new_id(), name=body.name, description=body.description,
                           collection_type=body.collection_type,
                           default_segmentation_config=body.default_segmentation_config, created_at=now_ms())
    return collection_obj(svc.catalog.library.add_collection(rec))


@router.get("/collections", summary="List collections",
            response_model=CollectionList, response_model_exclude_unset=True,
            responses=errors(400))
def list_collections(svc: ServicesDep, limit: Annotated[int, Query(ge=1, le=100)] = 50,
                     offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0) -> CollectionList:
    rows, total = svc.catalog.library.list_collections(limit, offset)
    return page(CollectionList, [collection_obj(c) for c in rows], total, limit, offset)


@router.get("/collections/{collection_id}", summary="Get a collection",
            response_model=CollectionObject, response_model_exclude_unset=True,
            responses=errors(404))
def get_collection(svc: ServicesDep, collection_id: str) -> CollectionObject:
    return collection_obj(svc.catalog.library.get_collection(collection_id))


@router.put("/collections/{collection_id}", summary="Rename or describe a collection",
            response_model=CollectionObject, response_model_exclude_unset=True,
            responses=errors(400, 404))
def update_collection(svc: ServicesDep, collection_id: str, body: CollectionUpdate) -> CollectionObject:
    return collection_obj(svc.catalog.library.update_collection(collection_id, body.name, body.description))


@router.delete("/collections/{collection_id}", summary="Delete a collection and its index",
            response_model=Deleted, response_model_exclude_unset=True,
            responses=errors(404))
def delete_collection(svc: ServicesDep, collection_id: str) -> Deleted:
    svc.library.delete_collection(collection_id)
    return Deleted(id=collection_id, object="collection")


def add_file(svc: Services, collection_id: str, body: AddCollectionFile) -> CollectionFileObject:
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
            response_model=CollectionFileObject, response_model_exclude_unset=True,
            responses=errors(400, 404, 409, 422))
def add_video(svc: ServicesDep, collection_id: str, body: AddCollectionFile) -> CollectionFileObject:
    return add_file(svc, collection_id, body)


@router.post("/collections/{collection_id}/media", summary="Add media to a collection",
            response_model=CollectionFileObject, response_model_exclude_unset=True,
            responses=errors(400, 404, 409, 422))
def add_media(svc: ServicesDep, collection_id: str, body: AddCollectionFile) -> CollectionFileObject:
    return add_file(svc, collection_id, body)


@router.get("/collections/{collection_id}/videos", summary="List a collection's videos",
            response_model=CollectionFileList, response_model_exclude_unset=True,
            responses=errors(400, 404))
def list_videos(svc: ServicesDep, collection_id: str, limit: Annotated[int, Query(ge=1, le=100)] = 50,
                offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0, status: str | None = None,
                filter: Annotated[str | None, Query(description=LISTING_FILTER_DOC)] = None) -> CollectionFileList:
    svc.catalog.library.get_collection(collection_id)
    only = files_matching(svc, filter, collection_scope(collection_id))
    rows, total = svc.catalog.library.list_collection_files(collection_id, limit, offset, status, only=only)
    return page(CollectionFileList, [collection_file_obj(cf, svc.catalog.library.get_file(cf.file_id),
                                                         _progress(svc, cf))
                                     for cf in rows], total, limit, offset)


def _progress(svc: Services, cf: CollectionFileRecord) -> dict[str, Any] | None:
    """Where a worker is with this entry; asked only while it is pending or processing (for other workers'
    jobs the answer is a catalog query, not worth one per finished row of a listing)."""
    return svc.worker.progress_of(cf.collection_id, cf.file_id) if cf.status.busy else None


@router.get("/collections/{collection_id}/videos/{file_id}", summary="Get a video's status in a collection",
            response_model=CollectionFileObject, response_model_exclude_unset=True,
            responses=errors(404))
def get_video(svc: ServicesDep, collection_id: str, file_id: str) -> CollectionFileObject:
    svc.catalog.library.get_collection(collection_id)
    cf = svc.catalog.library.get_collection_file(collection_id, file_id)
    analysis = svc.current_analysis(file_id)
    return collection_file_obj(cf, svc.catalog.library.get_file(file_id), _progress(svc, cf),
                               analysis.timings if analysis is not None else None)


@router.delete("/collections/{collection_id}/videos/{file_id}", summary="Remove a video from a collection",
            response_model=RemovedCollectionFile, response_model_exclude_unset=True,
            responses=errors(404))
def remove_video(svc: ServicesDep, collection_id: str, file_id: str) -> RemovedCollectionFile:
    svc.library.remove_from_collection(collection_id, file_id)
    return RemovedCollectionFile(collection_id=collection_id, file_id=file_id, object="collection_file")


def _completed(svc: Services, collection_id: str, file_id: str) -> None:
    svc.catalog.library.get_collection(collection_id)
    cf = svc.catalog.library.get_collection_file(collection_id, file_id)
    if cf.status != IndexStatus.COMPLETED:
        raise Conflict(f"file {file_id} is {cf.status} in this collection; media descriptions exist once it completes",
                       param="file_id")


def _describe(svc: Services, collection_id: str, file_id: str, start: float | None = None, end: float | None = None,
              summary: VideoSummary | None = None, markdown: bool = False) -> MediaDescription:
    _completed(svc, collection_id, file_id)
    analysis = svc.current_analysis(file_id)
    return media_description(collection_id, svc.catalog.library.get_file(file_id),
                             file_segments(svc, collection_id, file_id, start, end), summary, markdown,
                             appearances(analysis.texts) if analysis is not None else None)


@router.get("/collections/{collection_id}/videos/{file_id}/media-descriptions",
            summary="A video's segments: speech, scene text and visual descriptions",
            response_model=MediaDescription, response_model_exclude_unset=True,
            responses=errors(400, 404, 409))
async def get_media_descriptions(svc: ServicesDep, collection_id: str, file_id: str,
                           start_time_seconds: float | None = None, end_time_seconds: float | None = None,
                           response_format: str | None = None,
                           include_summary: Annotated[bool, Query(description="Add a map-reduce `summary` and "
                                                                  "`chapters` (generated once, then cached)")] = False
                           ) -> MediaDescription:
    if response_format not in (None, "json", "markdown"):
        raise InvalidRequest("response_format must be 'json' or 'markdown'", param="response_format")
    # The status checks run first: a file still processing is a 409, never a summary generated from nothing.
    await run_in_threadpool(_completed, svc, collection_id, file_id)
    summary = await cached_summary(svc, collection_id, file_id) if include_summary else None
    return await run_in_threadpool(_describe, svc, collection_id, file_id, start_time_seconds, end_time_seconds,
                                   summary, response_format == "markdown")


@router.get("/collections/{collection_id}/media-descriptions", summary="Media descriptions of every video",
            response_model=MediaDescriptionList, response_model_exclude_unset=True,
            responses=errors(400, 404))
def list_media_descriptions(svc: ServicesDep, collection_id: str, limit: Annotated[int, Query(ge=1, le=100)] = 50,
                            offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0) -> MediaDescriptionList:
    svc.catalog.library.get_collection(collection_id)
    rows, total = svc.catalog.library.list_collection_files(collection_id, limit, offset, status=IndexStatus.COMPLETED)
    data = [media_description_item(cf, _describe(svc, collection_id, cf.file_id)) for cf in rows]
    return page(MediaDescriptionList, data, total, limit, offset)
