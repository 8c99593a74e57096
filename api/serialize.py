"""Catalog records and segments -> Cloudglue wire objects (the `cloudglue` SDK's models are the contract)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clipcite.domain import Segment
from engine.catalog import CollectionFileRecord, CollectionRecord, FileRecord
from engine.prompting import fmt_time


def file_obj(f: FileRecord) -> dict[str, Any]:
    vi = f.video_info
    out: dict[str, Any] = {
        "id": f.id, "object": "file", "status": f.status, "bytes": f.bytes, "created_at": f.created_at,
        "filename": f.filename, "uri": f.uri, "metadata": f.metadata or None, "media_type": "video",
        "source": "video",
    }
    if vi is not None:
        out["video_info"] = {"duration_seconds": vi.duration_seconds, "height": vi.height, "width": vi.width,
                             "format": Path(f.filename).suffix.lstrip(".") or None, "has_audio": vi.has_audio}
        if vi.warnings:  # a partial file indexed anyway (allow_partial_media): say what is missing
            out["video_info"]["warnings"] = list(vi.warnings)
            out["warnings"] = list(vi.warnings)
        out["media_info"] = {"duration_seconds": vi.duration_seconds, "width": vi.width, "height": vi.height,
                             "has_audio": vi.has_audio}
    if f.error:
        out["error"] = f.error
    return out


def collection_obj(c: CollectionRecord) -> dict[str, Any]:
    out: dict[str, Any] = {"id": c.id, "object": "collection", "name": c.name, "description": c.description,
                           "collection_type": c.collection_type, "created_at": c.created_at,
                           "file_count": c.file_count, "file_status_counts": c.status_counts}
    if c.default_segmentation_config:
        out["default_segmentation_config"] = c.default_segmentation_config
    return out


def collection_file_obj(cf: CollectionFileRecord, f: FileRecord | None = None,
                        progress: dict[str, Any] | None = None) -> dict[str, Any]:
    """`progress` ({"stage", "fraction"}) is set while a worker processes the file: live status for UIs."""
    out: dict[str, Any] = {
        "collection_id": cf.collection_id, "file_id": cf.file_id, "object": "collection_file",
        "added_at": cf.added_at, "status": cf.status,
        "searchable_status": str(cf.status) if not cf.status.busy else "processing",
        "segmentation": {"id": cf.segmentation_id, "status": str(cf.status),
                         "file_id": cf.file_id, "segmentation_config": cf.segmentation_config},
        "segment_count": cf.segment_count,
    }
    if f is not None:
        out["file"] = file_obj(f)
    if progress is not None and cf.status.busy:
        out["progress"] = progress
    if cf.error:
        out["error"] = cf.error
    return out


def list_obj(data: list[dict[str, Any]], total: int, limit: int, offset: int) -> dict[str, Any]:
    return {"object": "list", "data": data, "total": total, "limit": limit, "offset": offset}


def speech_parts(seg: Segment) -> list[dict[str, Any]]:
    out = []
    for p in seg.speech:
        item: dict[str, Any] = {"text": p.text, "start_time": p.start_time, "end_time": p.end_time}
        if p.speaker:
            item["speaker"] = seg.speaker_name(p.speaker)
        out.append(item)
    return out


def _parts(texts: list[str], seg: Segment) -> list[dict[str, Any]]:
    return [{"text": t, "start_time": seg.start_time, "end_time": seg.end_time} for t in texts]


def media_description(collection_id: str, f: FileRecord, segments: list[Segment]) -> dict[str, Any]:
    segments = sorted(segments, key=lambda s: s.start_time)
    md_lines = [f"# {f.filename}"]
    for s in segments:
        md_lines.append(f"\n## {fmt_time(s.start_time)} - {fmt_time(s.end_time)}")
        md_lines.extend(s.modality_lines("**Speech:** ", "**On screen:** ", "**Visual:** "))
    return {
        "collection_id": collection_id, "file_id": f.id, "title": Path(f.filename).stem,
        "duration_seconds": f.video_info.duration_seconds if f.video_info else None,
        "content": "\n".join(md_lines),
        "speech": [p for s in segments for p in speech_parts(s)],
        "scene_text": [p for s in segments for p in _parts(s.scene_text, s)],
        "visual_scene_description": [p for s in segments for p in _parts(s.visual, s)],
        "segment_summary": [{"id": s.segment_id, "start_time": s.start_time, "end_time": s.end_time,
                             "title": f"{fmt_time(s.start_time)}-{fmt_time(s.end_time)}",
                             "summary": s.speech_text[:200] or " | ".join(s.scene_text)[:200] or "; ".join(s.visual)}
                            for s in segments],
        "file": file_obj(f),
    }
