"""Cloudglue's segmentations: `POST/GET /files/{id}/segmentations`, `GET/DELETE /segmentations/{id}`.

A segmentation is a file's entry in a collection (each entry has its own `segmentation_id`): the ones a
file has from user collections, and the ones created here, which are indexed under their config by the
normal worker (`ingest.batch.index_under`). Strategies: uniform, shot-detector, manual and narrative
(chapters on shot cuts by topic, each described by the model when read with `include_chapters`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from api.deps import MAX_OFFSET, ServicesDep
from api.file_views import cached_summary, file_segments
from api.protocol import NewSegmentation
from api.responses import Deleted, SegmentationList, SegmentationObject, errors
from api.services import Services
from clipcite.errors import Conflict
from engine.catalog import CollectionFileRecord, IndexStatus
from ingest.batch import SEGMENTATION_COLLECTION, index_under
from ingest.segment import SegmentationConfig

router = APIRouter(tags=["segmentations"])


def _obj(svc: Services, cf: CollectionFileRecord, limit: int | None = None, offset: int = 0,
         chapters: Any = None) -> SegmentationObject:
    out: dict[str, Any] = {"segmentation_id": cf.segmentation_id, "status": str(cf.status), "created_at": cf.added_at,
                           "file_id": cf.file_id, "collection_id": cf.collection_id,
                           "segmentation_config": cf.segmentation_config,
                           "thumbnails_config": {"enable_segment_thumbnails": True}}
    if cf.error:
        out["error"] = cf.error
    if cf.status == IndexStatus.COMPLETED:
        out["total_segments"] = cf.segment_count
        if limit is not None:
            segs = file_segments(svc, cf.collection_id, cf.file_id)
            kf = cf.segmentation_config.get("keyframe_config") or {}
            out["data"] = {"object": "list", "total": len(segs), "limit": limit, "offset": offset, "segments": [
                {"id": s.segment_id, "start_time": s.start_time, "end_time": s.end_time,
                 "thumbnail_url": f"/v1/files/{s.file_id}/segments/{s.segment_id}/thumbnail",
                 **({"keyframes": _keyframes(s.file_id, s.start_time, s.end_time, kf)} if kf else {})}
                for s in segs[offset:offset + limit]]}
            if chapters is not None:
                out["data"]["chapters"] = [c.model_dump() for c in chapters.chapters]
                out["total_chapters"] = chapters.total_chapters
    return SegmentationObject.model_validate(out)


def _keyframes(file_id: str, start: float, end: float, cfg: dict[str, Any]) -> list[dict[str, Any]]:
    """`frames_per_segment` evenly spaced frames of the segment (each in the middle of its share)."""
    n = int(cfg.get("frames_per_segment") or 0)
    width = f"&max_width={cfg['max_width']}" if cfg.get("max_width") else ""
    times = [round(start + (i + 0.5) * (end - start) / n, 3) for i in range(n)]
    return [{"timestamp": t, "url": f"/v1/files/{file_id}/frame.jpg?time_seconds={t}{width}"} for t in times]


@router.post("/files/{file_id}/segmentations", summary="Segment a file (indexed under that segmentation)",
             response_model=SegmentationObject, response_model_exclude_unset=True, responses=errors(400, 404))
def create_segmentation(svc: ServicesDep, file_id: str, body: NewSegmentation) -> SegmentationObject:
    frec = svc.catalog.library.get_file(file_id)
    cfg = SegmentationConfig.from_wire(body.config(), svc.settings.segment_seconds)
    return _obj(svc, index_under(svc.catalog, svc.worker, frec, cfg))


@router.get("/files/{file_id}/segmentations", summary="A file's segmentations (one per collection it is in)",
            response_model=SegmentationList, response_model_exclude_unset=True, responses=errors(400, 404))
def list_segmentations(svc: ServicesDep, file_id: str, limit: Annotated[int, Query(ge=1, le=100)] = 50,
                       offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0) -> SegmentationList:
    svc.catalog.library.get_file(file_id)
    entries = sorted((svc.catalog.library.get_collection_file(c, file_id)
                      for c in svc.catalog.library.collections_of_file(file_id)), key=lambda cf: -cf.added_at)
    data = [_obj(svc, cf) for cf in entries[offset:offset + limit]]
    return SegmentationList(object="list", data=data, total=len(entries), limit=limit, offset=offset)


@router.get("/segmentations/{segmentation_id}", summary="A segmentation with its segments (and chapters)",
            response_model=SegmentationObject, response_model_exclude_unset=True, responses=errors(400, 404))
async def get_segmentation(svc: ServicesDep, segmentation_id: str, limit: Annotated[int, Query(ge=1, le=100)] = 50,
                           offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
                           include_chapters: bool = True) -> SegmentationObject:
    cf = await run_in_threadpool(svc.catalog.library.find_by_segmentation, segmentation_id)
    chapters = None
    if include_chapters and cf.status == IndexStatus.COMPLETED and \
            cf.segmentation_config.get("strategy") == "narrative":
        chapters = await cached_summary(svc, cf.collection_id, cf.file_id)
    return await run_in_threadpool(_obj, svc, cf, limit, offset, chapters)


@router.delete("/segmentations/{segmentation_id}", summary="Delete a segmentation made here (and its index)",
               response_model=Deleted, responses=errors(404, 409))
def delete_segmentation(svc: ServicesDep, segmentation_id: str) -> Deleted:
    """Only segmentations created through this API: one of a user collection is that collection's index
    of the file (remove the file from the collection instead)."""
    cf = svc.catalog.library.find_by_segmentation(segmentation_id)
    coll = svc.catalog.library.get_collection(cf.collection_id)
    if not coll.name.startswith(SEGMENTATION_COLLECTION + " "):
        raise Conflict(f"segmentation {segmentation_id!r} is how collection {coll.id!r} indexes file {cf.file_id!r}; "
                       "remove the file from that collection instead", param="segmentation_id")
    svc.library.remove_from_collection(cf.collection_id, cf.file_id)
    return Deleted(id=segmentation_id, object="segmentation")
