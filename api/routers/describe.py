"""Cloudglue's `describe` and `transcribe` jobs: one file, one segmentation, the parts asked for.

A job is a file indexed under a segmentation by the normal worker: the segmentation given by id (its
collection entry), or a collection kept per segmentation config (`describe <strategy> <hash>`; the file
is then also searchable there). So a job's status is that entry's status and a file described twice
with the same segmentation is analysed once. `enable_*` choose what `data` returns (the analysis always
reads every modality: the index needs them all); the summary is generated on the first read of a
completed job, under the model lease, and cached.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from api.deps import MAX_OFFSET, ServicesDep
from api.file_views import cached_summary, file_segments, job_target
from api.protocol import NewMediaJob, day_ms
from api.responses import JobDeleted, MediaJob, MediaJobList, errors
from api.responses.jobs import MediaJobData, PartOut, SegmentSummaryOut
from api.serialize import file_obj, media_description
from api.services import Services
from api.transcripts import to_srt, to_vtt
from clipcite.errors import InvalidRequest, NotFound
from engine.catalog import FileRecord, IndexStatus
from engine.lexical import tidy_numbers
from engine.prompting import fmt_time
from ingest.stages.scene_text.ocr import appearances

router = APIRouter(tags=["describe"])

Kind = Literal["describe", "transcribe"]
MODALITIES = ("speech", "scene_text", "visual_scene_description", "audio_description")
FORMATS = ("json", "markdown", "speech_srt", "speech_vtt", "speech_markdown", "speech_text")


def _create(svc: Services, kind: Kind, body: NewMediaJob) -> dict[str, Any]:
    frec, collection_id = job_target(svc, body.url, body.segmentation_id, body.segmentation_config)
    audio = body.enable_audio_description if body.enable_audio_description is not None else kind == "describe"
    config: dict[str, Any] = {"enable_summary": body.enable_summary, "enable_speech": body.enable_speech,
                              "enable_scene_text": body.enable_scene_text,
                              "enable_visual_scene_description": body.enable_visual_scene_description,
                              "enable_audio_description": audio}
    if body.participants:
        config["participants"] = [p.model_dump(exclude_none=True) for p in body.participants]
    if body.prompt:
        config["prompt"] = body.prompt
    return svc.catalog.stored.new_media_job(kind, collection_id, frec.id, body.url, config)


def _words(svc: Services, file_id: str) -> list[tuple[float, float, list[dict[str, Any]]]]:
    analysis = svc.current_analysis(file_id)
    return [(s.start, s.end, [{"word": w.text.strip(), "start_time": w.start, "end_time": w.end} for w in s.words])
            for s in (analysis.speech if analysis else [])]


def _parts(items: list[Any] | None, opts: ReadOptions,
           words: list[tuple[float, float, list[dict[str, Any]]]] | None = None) -> list[PartOut]:
    """Timed parts inside the read window (a segment's parts outside it are left out too)."""
    out = []
    for p in items or []:
        if (opts.start is not None and p.end_time <= opts.start) or (opts.end is not None and p.start_time >= opts.end):
            continue
        part: dict[str, Any] = {"text": p.text, "start_time": p.start_time, "end_time": p.end_time}
        if getattr(p, "speaker", None):
            part["speaker"] = p.speaker
        if words is not None:
            part["words"] = [w for start, end, ws in words if start < p.end_time and end > p.start_time for w in ws
                             if p.start_time - 0.05 <= w["start_time"] < p.end_time + 0.05]
        out.append(PartOut.model_validate(part))
    return out


def _speech_content(svc: Services, rec: FileRecord, fmt: str, start: float | None, end: float | None) -> str:
    analysis = svc.current_analysis(rec.id)
    spans = [s for s in (analysis.speech if analysis else [])
             if (start is None or s.end > start) and (end is None or s.start < end)]
    speakers = rec.metadata.get("speakers")
    names: dict[str, str] = speakers if isinstance(speakers, dict) else {}
    if fmt == "speech_srt":
        return to_srt(spans, names)
    if fmt == "speech_vtt":
        return to_vtt(spans, names)
    lines = []
    for s in spans:
        who = names.get(s.speaker or "", s.speaker) if s.speaker else None
        stamp = f"[{fmt_time(s.start)} - {fmt_time(s.end)}]"
        text = tidy_numbers(s.text)
        lines.append(f"**{who}** {stamp}: {text}" if fmt == "speech_markdown" and who
                     else f"{stamp} {who + ': ' if who else ''}{text}")
    return "\n".join(lines)


class ReadOptions:
    """How a job is read back (`GET` query)."""

    def __init__(self, response_format: str | None = None, start: float | None = None, end: float | None = None,
                 modalities: list[str] | None = None, word_timestamps: bool = False, chapters: bool = False,
                 data: bool = True, summary: bool = True) -> None:
        fmt = response_format or "json"
        if fmt not in FORMATS:
            raise InvalidRequest(f"response_format must be one of {', '.join(FORMATS)}", param="response_format")
        unknown = set(modalities or []) - set(MODALITIES)
        if unknown:
            raise InvalidRequest(f"unknown modalities {sorted(unknown)}; use {', '.join(MODALITIES)}",
                                 param="modalities")
        if start is not None and end is not None and end <= start:
            raise InvalidRequest("end_time_seconds must be after start_time_seconds", param="end_time_seconds")
        self.format, self.start, self.end, self.modalities = fmt, start, end, modalities
        self.word_timestamps, self.chapters, self.data, self.summary = word_timestamps, chapters, data, summary


async def _out(svc: Services, job: dict[str, Any], opts: ReadOptions) -> MediaJob:
    kind, cfg = job["kind"], job["config"]
    rec = await run_in_threadpool(svc.catalog.library.get_file, job["file_id"])
    status = str(job["status"])
    out: dict[str, Any] = {"job_id": job["id"], "status": status, "url": job["url"], "created_at": job["created_at"],
                           f"{kind}_config": cfg, "file": file_obj(rec)}
    if rec.video_info is not None:
        out["duration_seconds"] = rec.video_info.duration_seconds
    try:
        cf = svc.catalog.library.get_collection_file(job["collection_id"], job["file_id"])
        out["segmentation_id"] = cf.segmentation_id
    except NotFound:
        cf = None
    if status == IndexStatus.FAILED:
        out["error"] = job["error"] or "the file was removed from the job's collection"
    if status != IndexStatus.COMPLETED or not opts.data or cf is None:
        return MediaJob.model_validate(out)
    summary = None
    if cfg["enable_summary"] and opts.summary:
        summary = await cached_summary(svc, job["collection_id"], job["file_id"], cfg.get("prompt"))
    out["data"] = await run_in_threadpool(_data, svc, job, rec, opts, summary)
    if summary is not None and opts.chapters:
        out["chapters"], out["total_chapters"] = summary.chapters, summary.total_chapters
    return MediaJob.model_validate(out)


def _data(svc: Services, job: dict[str, Any], rec: FileRecord, opts: ReadOptions, summary: Any) -> MediaJobData:
    cfg = job["config"]
    segments = file_segments(svc, job["collection_id"], rec.id, opts.start, opts.end)
    data: dict[str, Any] = {"title": Path(rec.filename).stem}
    if summary is not None:
        data["summary"] = summary.summary
    if opts.format.startswith("speech_"):
        data["content"] = _speech_content(svc, rec, opts.format, opts.start, opts.end)
        return MediaJobData.model_validate(data)
    analysis = svc.current_analysis(rec.id)
    desc = media_description(job["collection_id"], rec, segments, None, opts.format == "markdown",
                             appearances(analysis.texts) if analysis is not None else None)
    if opts.format == "markdown":
        data["content"] = desc.content
        return MediaJobData.model_validate(data)
    wanted = [m for m in MODALITIES if cfg[f"enable_{m}"] and (opts.modalities is None or m in opts.modalities)]
    words = _words(svc, rec.id) if opts.word_timestamps else None
    for m in wanted:
        data[m] = _parts(getattr(desc, m), opts, words if m == "speech" else None)
    if cfg["enable_summary"]:
        data["segment_summary"] = [SegmentSummaryOut(title=s.title, summary=s.summary, start_time=s.start_time,
                                                     end_time=s.end_time) for s in desc.segment_summary or []]
    return MediaJobData.model_validate(data)


def _routes(kind: Kind) -> None:
    """The same five routes for /describe and /transcribe."""

    @router.post(f"/{kind}", summary=f"Create a {kind} job", response_model=MediaJob, response_model_exclude_unset=True,
                 responses=errors(400, 404, 422), name=f"create_{kind}")
    async def create(svc: ServicesDep, body: NewMediaJob) -> MediaJob:
        job = await run_in_threadpool(_create, svc, kind, body)
        return await _out(svc, job, ReadOptions(data=False))

    @router.get(f"/{kind}/{{job_id}}", summary=f"A {kind} job, with its data once completed",
                response_model=MediaJob, response_model_exclude_unset=True, responses=errors(400, 404),
                name=f"get_{kind}")
    async def get(svc: ServicesDep, job_id: str, response_format: str | None = None,
                  start_time_seconds: Annotated[float | None, Query(ge=0)] = None,
                  end_time_seconds: Annotated[float | None, Query(ge=0)] = None,
                  modalities: Annotated[list[str] | None, Query()] = None,
                  include_word_timestamps: bool = False, include_chapters: bool = False,
                  include_thumbnails: bool = False, include_shots: bool = False,
                  include_metadata: bool = False) -> MediaJob:
        opts = ReadOptions(response_format, start_time_seconds, end_time_seconds, modalities,
                           include_word_timestamps, include_chapters)
        job = await run_in_threadpool(svc.catalog.stored.get_media_job, kind, job_id)
        return await _out(svc, job, opts)

    @router.get(f"/{kind}", summary=f"List {kind} jobs", response_model=MediaJobList,
                response_model_exclude_unset=True, responses=errors(400), name=f"list_{kind}")
    async def list_jobs(svc: ServicesDep, limit: Annotated[int, Query(ge=1, le=100)] = 50,
                        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
                        status: Annotated[str | None, Query(pattern="^(pending|processing|completed|failed)$")] = None,
                        created_before: str | None = None, created_after: str | None = None,
                        response_format: str | None = None, url: str | None = None, include_data: bool = False,
                        include_metadata: bool = False) -> MediaJobList:
        """`include_data` adds each completed job's parts (not its summary: listing never runs the model)."""
        opts = ReadOptions(response_format, data=include_data, summary=False)
        rows, total = await run_in_threadpool(svc.catalog.stored.list_media_jobs, kind, limit, offset, status, url,
                                              day_ms(created_after, "created_after"),
                                              day_ms(created_before, "created_before"))
        data = [await _out(svc, r, opts) for r in rows]
        return MediaJobList(object="list", data=data, total=total, limit=limit, offset=offset)

    @router.delete(f"/{kind}/{{job_id}}", summary=f"Delete a {kind} job (its file and index stay)",
                   response_model=JobDeleted, responses=errors(404), name=f"delete_{kind}")
    def delete(svc: ServicesDep, job_id: str) -> JobDeleted:
        svc.catalog.stored.delete_media_job(kind, job_id)
        return JobDeleted(id=job_id)


_routes("describe")
_routes("transcribe")
