"""What several routes read about files: the files a listing filter matches, a file's segments in a
collection and its cached summary, and the file and collection a job on one file (describe, transcribe,
extract, find moments) targets. Routers import this, never each other."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fastapi.concurrency import run_in_threadpool

from api.responses import VideoSummary
from api.serialize import video_summary, wire_json
from api.services import Services
from api.video_links import register_ref
from clipcite.domain import Segment
from clipcite.errors import InvalidRequest
from clipcite.media import file_id_of
from engine.catalog import FileRecord
from engine.filters import Group, parse_filter
from engine.scopes import membership_scope
from engine.summary import summarize
from ingest.batch import index_under
from ingest.segment import SegmentationConfig


def json_object(raw: str | None, param: str) -> dict[str, Any]:
    """A form or query field that carries a JSON object; empty means {}."""
    if raw is None or raw == "":
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidRequest(f"{param} must be a JSON object", param=param) from exc
    if not isinstance(value, dict):
        raise InvalidRequest(f"{param} must be a JSON object", param=param)
    return value


LISTING_FILTER_DOC = ("Cloudglue filter as a JSON string (metadata, video_info, file; all operators); a file is "
                      "listed when at least one of its indexed segments matches, so files not yet indexed are not")


def files_matching(svc: Services, raw: str | None, scope: Group | None = None) -> set[str] | None:
    """Ids of files with a segment matching the wire filter (within `scope`), run in the store; None = no filter."""
    value = json_object(None if raw is None or raw.strip() == "null" else raw.strip(), "filter")
    if not value:
        return None
    flt = parse_filter(value)
    if scope is not None:
        flt.must.append(scope)
    return svc.store.file_ids(flt)


def file_segments(svc: Services, collection_id: str, file_id: str, start: float | None = None,
                  end: float | None = None) -> list[Segment]:
    segs = svc.store.segments(membership_scope(collection_id, file_id))
    if start is not None:
        segs = [s for s in segs if s.end_time > start]
    if end is not None:
        segs = [s for s in segs if s.start_time < end]
    return sorted(segs, key=lambda s: s.start_time)


async def cached_summary(svc: Services, collection_id: str, file_id: str,
                         instruction: str | None = None) -> VideoSummary:
    """Cloudglue's `summary` and `chapters`, cached per collection, file, segmentation (and instruction: a
    describe job's `prompt`). A narrative segmentation's segments are its chapters (one line each, its
    `prompt` the instruction). Generated under the model lease like a chat (admission bound, slot), never
    beside it in a pool thread."""
    cf = svc.catalog.library.get_collection_file(collection_id, file_id)
    narrative = cf.segmentation_config.get("strategy") == "narrative"
    if narrative and not instruction:
        instruction = (cf.segmentation_config.get("narrative_config") or {}).get("prompt")
    key = f"{collection_id}:{file_id}:{cf.segmentation_id}"
    if instruction:
        key += ":" + hashlib.sha1(instruction.encode()).hexdigest()[:12]
    cached = svc.catalog.stored.get_summary(key)
    if cached is not None:
        return VideoSummary.model_validate(cached)
    segments = await run_in_threadpool(file_segments, svc, collection_id, file_id)
    result = await svc.model.call(lambda: summarize(segments, svc.generator, instruction, per_segment=narrative))
    out = video_summary(result)
    svc.catalog.stored.put_summary(key, wire_json(out))
    return out


def _file(svc: Services, url: str) -> FileRecord:
    """A Clipcite file by URI (`clipcite://files/<id>`, `cloudglue://...`) or id, else media at a path or an
    allowed URL."""
    file_id = file_id_of(url) or (url if svc.catalog.library.has_file(url) else None)
    return svc.catalog.library.get_file(file_id) if file_id else register_ref(svc, url)


def job_target(svc: Services, url: str, segmentation_id: str | None,
               segmentation_config: dict[str, Any] | None) -> tuple[FileRecord, str]:
    """A job's file and the collection that indexes it under the job's segmentation: the segmentation
    given by id (its collection entry), else one kept per segmentation config (queued when new)."""
    frec = _file(svc, url)
    if segmentation_id:
        cf = svc.catalog.library.find_by_segmentation(segmentation_id)
        if cf.file_id != frec.id:
            raise InvalidRequest(f"segmentation {segmentation_id!r} belongs to another file", param="segmentation_id")
        return frec, cf.collection_id
    cfg = SegmentationConfig.from_wire(segmentation_config, svc.settings.segment_seconds)
    return frec, index_under(svc.catalog, svc.worker, frec, cfg).collection_id
