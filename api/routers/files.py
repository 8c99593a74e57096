"""Files: upload (streamed to disk, probed before anything is queued), list, get, update, delete."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import mimetypes
import os
import re
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response

from api.deps import MAX_OFFSET, ServicesDep
from api.file_views import LISTING_FILTER_DOC, files_matching, json_object
from api.paging import window
from api.protocol import FileUpdate, SegmentUpdate
from api.responses import Deleted, FileList, FileObject, SegmentList, SegmentObject, TranscriptJson, errors
from api.serialize import file_obj, page, segment_obj, wire_json
from api.services import Services
from api.transcripts import to_json, to_srt, to_vtt
from clipcite.domain import Segment
from clipcite.errors import Conflict, InvalidRequest, NotFound, PayloadTooLarge
from engine.catalog import new_id
from engine.filters import check_keys
from engine.payload import file_metadata_writes, point_id, segment_metadata_writes
from engine.scopes import file_scope, segment_scope
from ingest.library import partial_path, register_file
from ingest.thumbnails import thumbnail

log = logging.getLogger(__name__)
router = APIRouter(tags=["files"])

_SAFE_SUFFIX = re.compile(r"^\.[a-z0-9]{1,8}$")


def _parse_metadata(raw: str | None) -> dict[str, Any]:
    meta = json_object(raw, "metadata")
    check_keys(meta, "metadata")
    return meta


def save_upload(svc: Services, upload: UploadFile) -> tuple[Path, int, str]:
    """Copy in 1 MiB chunks under a generated name; enforce the size limit while copying."""
    suffix = Path(upload.filename or "").suffix.lower()
    suffix = suffix if _SAFE_SUFFIX.match(suffix) else ".bin"
    file_id = new_id()
    dest = svc.files_dir / f"{file_id}{suffix}"
    tmp = partial_path(dest)
    digest, size = hashlib.sha256(), 0
    limit = svc.settings.max_upload_bytes
    try:
        with open(tmp, "wb") as out:
            while chunk := upload.file.read(1 << 20):
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(f"upload exceeds the {limit} byte limit", param="file")
                digest.update(chunk)
                out.write(chunk)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest, size, digest.hexdigest()


def _clean_filename(name: str | None) -> str:
    base = Path((name or "upload").replace("\\", "/")).name
    base = re.sub(r"[\x00-\x1f]", "", base).strip() or "upload"
    return base[:255]


@router.post("/files", summary="Upload a video file",
            response_model=FileObject, response_model_exclude_unset=True,
            responses=errors(400, 413))
async def upload_file(svc: ServicesDep, file: Annotated[UploadFile, File(description="The video")],
                      metadata: Annotated[str | None, Form(description="JSON object")] = None,
                      enable_segment_thumbnails: Annotated[str | None, Form()] = None) -> FileObject:
    meta = _parse_metadata(metadata)
    path, size, sha = await run_in_threadpool(save_upload, svc, file)
    rec = await run_in_threadpool(register_file, svc.catalog, path, _clean_filename(file.filename), size, sha,
                                  meta, path.stem, svc.settings.allow_partial_media)
    return file_obj(rec)


@router.get("/files", summary="List files",
            response_model=FileList, response_model_exclude_unset=True,
            responses=errors(400))
def list_files(svc: ServicesDep, limit: Annotated[int, Query(ge=1, le=100)] = 50,
               offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0, status: str | None = None,
               filter: Annotated[str | None, Query(description=LISTING_FILTER_DOC)] = None,
               after: Annotated[str | None, Query(description="OpenAI cursor: the page after this file id")] = None,
               before: Annotated[str | None, Query(description="OpenAI cursor: the page before this file id")] = None,
               ) -> FileList:
    only = files_matching(svc, filter)
    limit, offset = window(limit, offset, after, before, lambda: svc.catalog.library.file_ids(status, only))
    rows, total = svc.catalog.library.list_files(limit, offset, status, only=only)
    return page(FileList, [file_obj(f) for f in rows], total, limit, offset)


@router.get("/files/{file_id}", summary="Get a file",
            response_model=FileObject, response_model_exclude_unset=True,
            responses=errors(404))
def get_file(svc: ServicesDep, file_id: str) -> FileObject:
    return file_obj(svc.catalog.library.get_file(file_id))


@router.put("/files/{file_id}", summary="Update a file's metadata (reflected in filters at once)",
            response_model=FileObject, response_model_exclude_unset=True,
            responses=errors(400, 404))
def update_file(svc: ServicesDep, file_id: str, body: FileUpdate) -> FileObject:
    """The store first, then the catalog: a write that fails anywhere puts the store back, so the catalog
    and the segments' filters never disagree."""
    current = svc.catalog.library.get_file(file_id)
    metadata = body.metadata if body.metadata is not None else current.metadata
    try:
        apply_file_metadata(svc, file_id, metadata, body.filename or current.filename)
        rec = svc.catalog.library.update_file_metadata(file_id, metadata, body.filename)
    except Exception:
        with contextlib.suppress(Exception):  # best effort: the original error is the one to report
            apply_file_metadata(svc, file_id, current.metadata, current.filename)
        raise
    return file_obj(rec)


def apply_file_metadata(svc: Services, file_id: str, metadata: dict[str, Any], filename: str) -> None:
    """Rewrite the file-level payload of every segment of the file (and its filter mirrors) in place.

    The whole `metadata` object is replaced (so removed keys stop matching); the mirrors' `metadata` is
    set under their own keys so per-segment entries (`_num.segment_duration`) are untouched."""
    scope = file_scope(file_id)
    for payload, key in file_metadata_writes(metadata, filename):
        svc.store.set_payload(scope, payload, key=key)


@router.delete("/files/{file_id}", summary="Delete a file and all its segments",
            response_model=Deleted, response_model_exclude_unset=True,
            responses=errors(404))
def delete_file(svc: ServicesDep, file_id: str) -> Deleted:
    rec = svc.library.delete_file(file_id)
    stored = Path(rec.path)
    # Uploads live in the data dir and go with the file; files indexed in place (`clipcite index`) are the
    # user's own and stay where they are.
    if stored.resolve().is_relative_to(svc.files_dir.resolve()):
        stored.unlink(missing_ok=True)
    return Deleted(id=file_id, object="file")


# --- segments of a file (across the collections it was indexed in) ---


def _segments_of(svc: Services, file_id: str) -> list[Segment]:
    svc.catalog.library.get_file(file_id)
    seen: dict[str, Segment] = {}
    for seg in svc.store.segments(file_scope(file_id)):
        seen.setdefault(seg.segment_id, seg)
    return sorted(seen.values(), key=lambda s: (s.start_time, s.collection_id))


def thumbnail_url(request: Request, file_id: str, seg: Segment) -> str:
    return str(request.url_for("segment_thumbnail", file_id=file_id, segment_id=seg.segment_id))


def _segment_obj(request: Request, svc: Services, seg: Segment) -> SegmentObject:
    cf = None
    with contextlib.suppress(NotFound):
        cf = svc.catalog.library.get_collection_file(seg.collection_id, seg.file_id)
    return segment_obj(seg, thumbnail_url(request, seg.file_id, seg), cf.segmentation_id if cf else None)


@router.get("/files/{file_id}/segments", summary="A file's segments",
            response_model=SegmentList, response_model_exclude_unset=True,
            responses=errors(400, 404))
def list_segments(svc: ServicesDep, request: Request, file_id: str, limit: Annotated[int, Query(ge=1, le=100)] = 50,
                  offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0) -> SegmentList:
    segs = _segments_of(svc, file_id)
    data = [_segment_obj(request, svc, s) for s in segs[offset:offset + limit]]
    return page(SegmentList, data, len(segs), limit, offset)


def _one_segment(svc: Services, file_id: str, segment_id: str) -> Segment:
    svc.catalog.library.get_file(file_id)
    for hit in svc.store.get([point_id(segment_id)]):  # by id: no scan of the file's segments
        if hit.segment.file_id == file_id and hit.segment.segment_id == segment_id:
            return hit.segment
    raise NotFound(f"segment {segment_id!r} of file {file_id!r} not found", param="segment_id")


@router.get("/files/{file_id}/segments/{segment_id}", summary="One segment",
            response_model=SegmentObject, response_model_exclude_unset=True,
            responses=errors(404))
def get_segment(svc: ServicesDep, request: Request, file_id: str, segment_id: str) -> SegmentObject:
    return _segment_obj(request, svc, _one_segment(svc, file_id, segment_id))


@router.put("/files/{file_id}/segments/{segment_id}", summary="Set a segment's metadata (filterable at once)",
            response_model=SegmentObject, response_model_exclude_unset=True,
            responses=errors(400, 404))
def update_segment(svc: ServicesDep, request: Request, file_id: str, segment_id: str,
                   body: SegmentUpdate) -> SegmentObject:
    before = _one_segment(svc, file_id, segment_id).segment_metadata
    scope = segment_scope(file_id, segment_id)
    try:
        for payload, key in segment_metadata_writes(body.metadata or {}):
            svc.store.set_payload(scope, payload, key=key)
    except Exception:
        with contextlib.suppress(Exception):  # all or nothing: the segment's earlier metadata back
            for payload, key in segment_metadata_writes(before):
                svc.store.set_payload(scope, payload, key=key)
        raise
    return _segment_obj(request, svc, _one_segment(svc, file_id, segment_id))


@router.get("/files/{file_id}/segments/{segment_id}/thumbnail", name="segment_thumbnail",
            summary="A JPEG frame from the middle of the segment", response_class=FileResponse,
            responses={200: {"content": {"image/jpeg": {}}, "description": "JPEG image"}, **errors(404, 422)})
def segment_thumbnail(svc: ServicesDep, file_id: str, segment_id: str) -> FileResponse:
    seg = _one_segment(svc, file_id, segment_id)
    rec = svc.catalog.library.get_file(file_id)
    path = thumbnail(Path(rec.path), (seg.start_time + seg.end_time) / 2, svc.settings.resolved_data_dir / "thumbnails")
    return FileResponse(path, media_type="image/jpeg")


@router.get("/files/{file_id}/transcript.{fmt}", summary="The file's transcript as SRT, WebVTT or JSON",
            response_class=PlainTextResponse,
            responses={200: {"description": "SRT, WebVTT, or JSON (TranscriptJson)",
                             "content": {"application/x-subrip": {}, "text/vtt": {}, "application/json": {
                                 "schema": {"$ref": "#/components/schemas/TranscriptJson"}}}},
                       **errors(400, 404, 409)})
def transcript(svc: ServicesDep, file_id: str, fmt: str) -> Response:
    if fmt not in ("srt", "vtt", "json"):
        raise InvalidRequest("transcript format must be srt, vtt or json", param="fmt")
    rec = svc.catalog.library.get_file(file_id)
    analysis = svc.current_analysis(file_id)
    if analysis is None:
        raise Conflict(f"file {file_id} has not been processed yet; add it to a collection first", param="file_id")
    speakers = rec.metadata.get("speakers")
    names: dict[str, str] = speakers if isinstance(speakers, dict) else {}
    spans = analysis.speech
    if fmt == "srt":
        return PlainTextResponse(to_srt(spans, names), media_type="application/x-subrip")
    if fmt == "json":
        doc = TranscriptJson.model_validate({"file_id": file_id, "language": analysis.language,
                                             "segments": to_json(spans, names)})
        return JSONResponse(wire_json(doc))
    return PlainTextResponse(to_vtt(spans, names), media_type="text/vtt")


@router.get("/files/{file_id}/media", summary="The stored video (HTTP range requests, for players that seek)",
            response_class=FileResponse,
            responses={200: {"content": {"video/*": {}}, "description": "the whole file"},
                       206: {"content": {"video/*": {}}, "description": "the requested byte range (Range header)"},
                       **errors(404)})
def file_media(svc: ServicesDep, file_id: str) -> FileResponse:
    rec = svc.catalog.library.get_file(file_id)
    path = Path(rec.path)
    if not path.exists():
        raise NotFound(f"the media of file {file_id!r} is no longer stored", param="file_id")
    media_type = mimetypes.guess_type(rec.filename)[0] or "application/octet-stream"
    return FileResponse(path, media_type=media_type)
