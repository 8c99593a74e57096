"""Engine results -> wire models, one builder per shape (the `cloudglue` and `openai` SDK models are the
contract; the shapes are the models in `api.responses`).

A builder sets exactly the fields the object carries; routes serialize with `exclude_unset`, so a field
left unset is absent rather than `null`. `wire_json` gives the same JSON for what is stored and replayed
(chat completions, searches, summaries).
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any, TypeVar

from api.protocol import ResponseRequest
from api.responses import (
    AssistantMessage,
    ChapterOut,
    ChatChoice,
    ChatCompletion,
    ChatCompletionChunk,
    ChunkChoice,
    Citation,
    CollectionFileObject,
    CollectionObject,
    Delta,
    FileObject,
    FileResult,
    FunctionCallItem,
    Grounding,
    MediaDescription,
    MediaDescriptionData,
    MediaDescriptionItem,
    OutputMessage,
    OutputText,
    Page,
    RelevantSource,
    ResponseAnnotation,
    ResponseErrorOut,
    ResponseObject,
    ResponseUsage,
    SegmentGroup,
    SegmentObject,
    SegmentResult,
    SegmentSummary,
    TimedText,
    ToolCall,
    ToolCallFunction,
    ToolCitationOut,
    Usage,
    VideoSummary,
    Wire,
)
from clipcite.domain import ScoredSegment, Segment
from clipcite.errors import ClipciteError
from engine import citations as engine_citations
from engine.catalog import CollectionFileRecord, CollectionRecord, FileRecord, IndexStatus
from engine.chat import ChatAnswer
from engine.lexical import tidy_numbers
from engine.prompting import fmt_time
from engine.search import FileHit
from engine.summary import Summary
from engine.tools import ToolCall as EngineToolCall

P = TypeVar("P", bound=Page)


def wire_json(obj: Wire) -> dict[str, Any]:
    """A wire object as the JSON the routes send (unset fields absent)."""
    return obj.model_dump(mode="json", exclude_unset=True)


def page(cls: type[P], data: list[Any], total: int, limit: int, offset: int) -> P:
    ids = [i for i in (getattr(d, "id", None) for d in data) if isinstance(i, str)]
    return cls(object="list", data=data, total=total, limit=limit, offset=offset,
               has_more=offset + len(data) < total, first_id=ids[0] if ids else None,
               last_id=ids[-1] if ids else None)


# --- the timed-text part: speech, scene text, visual descriptions ---


def timed_text(text: str, start_time: float, end_time: float, speaker: str | None = None) -> TimedText:
    """The one builder of a timed-text part; `speaker` is present only when known."""
    if speaker:
        return TimedText(text=text, start_time=start_time, end_time=end_time, speaker=speaker)
    return TimedText(text=text, start_time=start_time, end_time=end_time)


def speech_parts(seg: Segment) -> list[TimedText]:
    return [timed_text(tidy_numbers(p.text), p.start_time, p.end_time,
                       seg.speaker_name(p.speaker) if p.speaker else None) for p in seg.speech]


def screen_parts(seg: Segment) -> list[TimedText]:
    """A segment's on-screen lines, each timed as it is visible (older points: the whole segment)."""
    return [timed_text(line.text, line.start_time, line.end_time) for line in seg.screen_lines()]


def sound_parts(seg: Segment) -> list[TimedText]:
    """A segment's sound events (audio_description), each timed as it is heard."""
    return [timed_text(e.text, e.start_time, e.end_time) for e in seg.sounds]


def visual_parts(seg: Segment) -> list[TimedText]:
    """Visual descriptions: each keyframe sentence timed as its keyframes are on screen, then the segment's
    other descriptions (captions, the labels line) timed as the whole segment."""
    timed = [timed_text(v.text, v.start_time, v.end_time) for v in seg.visual_spans]
    said = {v.text for v in seg.visual_spans}
    return timed + segment_parts([t for t in seg.visual if t not in said], seg)


def segment_parts(texts: list[str], seg: Segment) -> list[TimedText]:
    """Scene text or visual descriptions: one part per text, timed as the whole segment."""
    return [timed_text(t, seg.start_time, seg.end_time) for t in texts]


# --- files, segments and collections ---


def file_obj(f: FileRecord) -> FileObject:
    vi = f.video_info
    out: dict[str, Any] = {
        "id": f.id, "object": "file", "status": f.status, "bytes": f.bytes, "created_at": f.created_at,
        "filename": f.filename, "uri": f.uri, "metadata": f.metadata or None, "media_type": "video",
        "source": "video",
    }
    if vi is not None:
        out["video_info"] = {"duration_seconds": vi.duration_seconds, "height": vi.height, "width": vi.width,
                             "format": Path(f.filename).suffix.lstrip(".") or None, "has_audio": vi.has_audio,
                             "language": vi.language}
        if vi.warnings:  # a partial file indexed anyway (allow_partial_media): say what is missing
            out["video_info"]["warnings"] = list(vi.warnings)
            out["warnings"] = list(vi.warnings)
        out["media_info"] = {"duration_seconds": vi.duration_seconds, "width": vi.width, "height": vi.height,
                             "has_audio": vi.has_audio}
    if f.error:
        out["error"] = f.error
    return FileObject.model_validate(out)


def segment_obj(seg: Segment, thumbnail_url: str, segmentation_id: str | None) -> SegmentObject:
    return SegmentObject(id=seg.segment_id, file_id=seg.file_id, start_time=seg.start_time, end_time=seg.end_time,
                         thumbnail_url=thumbnail_url, metadata=seg.segment_metadata or None,
                         segmentation_id=segmentation_id, collection_id=seg.collection_id)


def collection_obj(c: CollectionRecord) -> CollectionObject:
    out: dict[str, Any] = {"id": c.id, "object": "collection", "name": c.name, "description": c.description,
                           "collection_type": c.collection_type, "created_at": c.created_at,
                           "file_count": c.file_count, "file_status_counts": c.status_counts}
    if c.default_segmentation_config:
        out["default_segmentation_config"] = c.default_segmentation_config
    return CollectionObject.model_validate(out)


def collection_file_obj(cf: CollectionFileRecord, f: FileRecord | None = None,
                        progress: dict[str, Any] | None = None,
                        processing_seconds: dict[str, float] | None = None) -> CollectionFileObject:
    """`progress` ({"stage", "fraction"}) is set while a worker processes the file: live status for UIs;
    `processing_seconds` (where ingest time went, per stage) once the file was analysed."""
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
        # A failed file failed on its own content; a pending one with a reason waits for the environment
        # (a model that cannot load: the job is back in the queue, `/health` says why).
        out["error_kind"] = "media" if cf.status == IndexStatus.FAILED else "environment"
    if processing_seconds is not None:
        out["processing_seconds"] = {k: round(v, 3) for k, v in processing_seconds.items()}
    return CollectionFileObject.model_validate(out)


# --- media descriptions and summaries ---


def video_summary(result: Summary) -> VideoSummary:
    return VideoSummary(summary=result.overview,
                        chapters=[ChapterOut(index=i, start_time=c.start_time, end_time=c.end_time, description=c.text)
                                  for i, c in enumerate(result.chapters)],
                        total_chapters=len(result.chapters))


def _segment_summary(s: Segment) -> SegmentSummary:
    return SegmentSummary(id=s.segment_id, start_time=s.start_time, end_time=s.end_time,
                          title=f"{fmt_time(s.start_time)}-{fmt_time(s.end_time)}",
                          summary=s.speech_text[:200] or " | ".join(s.scene_text)[:200] or "; ".join(s.visual))


def media_description(collection_id: str, f: FileRecord, segments: list[Segment], summary: VideoSummary | None = None,
                      markdown: bool = False,
                      on_screen: list[tuple[str, float, float]] | None = None) -> MediaDescription:
    """Cloudglue's media description; `markdown` keeps the markdown `content` and drops the part lists.
    File-level lists hold each utterance once (one that straddles a segment boundary is in both segments);
    `on_screen` ((line, start, end) appearances from the analysis) gives scene text the times it is visible,
    merged across segments, instead of each segment's whole window."""
    segments = sorted(segments, key=lambda s: s.start_time)
    md_lines = [f"# {f.filename}"]
    for s in segments:
        md_lines.append(f"\n## {fmt_time(s.start_time)} - {fmt_time(s.end_time)}")
        md_lines.extend(s.modality_lines("**Speech:** ", "**On screen:** ", "**Visual:** ", "**Sounds:** "))
    out: dict[str, Any] = {
        "collection_id": collection_id, "file_id": f.id, "title": Path(f.filename).stem,
        "duration_seconds": f.video_info.duration_seconds if f.video_info else None,
        "content": "\n".join(md_lines),
    }
    if not markdown:
        out["speech"] = _once([p for s in segments for p in speech_parts(s)])
        if on_screen is not None:
            lo = segments[0].start_time if segments else 0.0
            hi = segments[-1].end_time if segments else 0.0
            out["scene_text"] = [timed_text(line, start, end) for line, start, end in on_screen
                                 if start < hi and end > lo]
        else:
            out["scene_text"] = _once([p for s in segments for p in screen_parts(s)])
        out["visual_scene_description"] = [p for s in segments for p in visual_parts(s)]
        out["audio_description"] = _sounds_once(segments)
        out["segment_summary"] = [_segment_summary(s) for s in segments]
    out["file"] = file_obj(f)
    if summary is not None:
        out["summary"], out["chapters"] = summary.summary, summary.chapters
        if not markdown:
            out["total_chapters"] = summary.total_chapters
    return MediaDescription.model_validate(out)


def _sounds_once(segments: list[Segment]) -> list[TimedText]:
    """File-level sound events: one entry per sound heard across a segment boundary (its two clipped halves
    joined back into one span)."""
    out: list[TimedText] = []
    for p in (p for s in segments for p in sound_parts(s)):
        prev = next((q for q in reversed(out) if q.text == p.text), None)
        if prev is not None and p.start_time <= prev.end_time + 0.01:
            out[out.index(prev)] = timed_text(p.text, prev.start_time, max(prev.end_time, p.end_time))
        else:
            out.append(p)
    return out


def _once(parts: list[TimedText]) -> list[TimedText]:
    """Each (text, start, end) once, in order."""
    seen: set[tuple[str, float, float]] = set()
    out = []
    for p in parts:
        key = (p.text, p.start_time, p.end_time)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def media_description_item(cf: CollectionFileRecord, desc: MediaDescription) -> MediaDescriptionItem:
    return MediaDescriptionItem(
        file_id=cf.file_id, added_at=cf.added_at, object="collection_file", duration_seconds=desc.duration_seconds,
        file=desc.file, data=MediaDescriptionData(content=desc.content, title=desc.title, speech=desc.speech or [],
                                                  scene_text=desc.scene_text or [],
                                                  visual_scene_description=desc.visual_scene_description or [],
                                                  audio_description=desc.audio_description or []))


# --- chat ---


def citation(c: engine_citations.Citation) -> Citation:
    seg = c.segment
    return Citation(collection_id=seg.collection_id, file_id=seg.file_id, segment_id=seg.segment_id,
                    start_time=c.start_time, end_time=c.end_time, segment_start_time=seg.start_time,
                    segment_end_time=seg.end_time, filename=seg.file_info.get("filename"),
                    number=c.number, text=seg.speech_text or " ".join(seg.scene_text), context=c.context,
                    relevant_sources=[RelevantSource(text=s) for s in c.sources], speech=speech_parts(seg),
                    scene_text=screen_parts(seg), visual_scene_description=visual_parts(seg),
                    audio_description=sound_parts(seg))


def tool_call(c: EngineToolCall, index: int | None = None) -> ToolCall:
    function = ToolCallFunction(name=c.name, arguments=c.arguments)
    if index is None:
        return ToolCall(id=c.id, type="function", function=function)
    return ToolCall(id=c.id, type="function", function=function, index=index)


def usage(ans: ChatAnswer) -> Usage:
    return Usage(prompt_tokens=ans.prompt_tokens, completion_tokens=ans.completion_tokens,
                 total_tokens=ans.prompt_tokens + ans.completion_tokens)


def assistant_message(ans: ChatAnswer) -> AssistantMessage:
    if ans.tool_calls:
        return AssistantMessage(role="assistant", content=ans.text or None,
                                tool_calls=[tool_call(c) for c in ans.tool_calls])
    return AssistantMessage(role="assistant", content=ans.text)


def _checked(ans: ChatAnswer) -> dict[str, Any]:
    """The answer's grounding extension fields (only what there is)."""
    out: dict[str, Any] = {}
    if ans.tool_citations:
        out["tool_citations"] = [ToolCitationOut(tool_call_id=t.tool_call_id, text=t.text) for t in ans.tool_citations]
    if ans.grounding:
        out["grounding"] = Grounding.model_validate(ans.grounding)
    return out


def completion(cid: str, created_ms: int, model: str, ans: ChatAnswer, payload: dict[str, Any]) -> ChatCompletion:
    choice = ChatChoice(index=0, message=assistant_message(ans), finish_reason=ans.finish_reason, logprobs=None,
                        grounded=ans.grounded, citations=[citation(c) for c in ans.citations], **_checked(ans))
    return ChatCompletion(id=cid, object="chat.completion", created=created_ms // 1000, created_at=created_ms,
                          model=model, choices=[choice], usage=usage(ans), payload=payload)


def chunk(cid: str, created_ms: int, model: str, delta: Delta, finish: str | None = None,
          final: ChatAnswer | None = None) -> ChatCompletionChunk:
    """A stream chunk; the `final` answer's citations and grounding go on the last content chunk."""
    if final is None:
        choice = ChunkChoice(index=0, delta=delta, finish_reason=finish, logprobs=None)
    else:
        choice = ChunkChoice(index=0, delta=delta, finish_reason=finish, logprobs=None,
                             citations=[citation(c) for c in final.citations], grounded=final.grounded,
                             **_checked(final))
    return ChatCompletionChunk(id=cid, object="chat.completion.chunk", created=created_ms // 1000, model=model,
                               choices=[choice])


def usage_chunk(cid: str, created_ms: int, model: str, ans: ChatAnswer) -> ChatCompletionChunk:
    return ChatCompletionChunk(id=cid, object="chat.completion.chunk", created=created_ms // 1000, model=model,
                               choices=[], usage=usage(ans))


# --- responses ---


def annotation(c: engine_citations.Citation, text: str, media: bool) -> ResponseAnnotation:
    """A citation as a `cloudglue_citation` annotation; `media`: with its segment's parts as text lists
    (Cloudglue's include `cloudglue_citations.media_descriptions`)."""
    seg = c.segment
    out: dict[str, Any] = {"type": "cloudglue_citation", "collection_id": seg.collection_id, "file_id": seg.file_id,
                           "segment_id": seg.segment_id, "start_time": c.start_time, "end_time": c.end_time,
                           "filename": seg.file_info.get("filename"), "number": c.number, "context": c.context}
    marker = re.search(rf"\[{c.number}\]", text) if c.number is not None else None
    if marker is not None:
        out["start_index"], out["end_index"] = marker.start(), marker.end()
    if media:
        out["relevant_sources"] = list(c.sources)
        out["speech"] = [p.text for p in speech_parts(seg)]
        out["scene_text"] = [p.text for p in screen_parts(seg)]
        out["visual_scene_description"] = [p.text for p in visual_parts(seg)]
        out["audio_description"] = [p.text for p in sound_parts(seg)]
    return ResponseAnnotation.model_validate(out)


def output_items(ans: ChatAnswer, media: bool,
                 with_message: bool | None = None) -> list[OutputMessage | FunctionCallItem]:
    """The answer as output items: the message (unless the reply is only tool calls), then each call."""
    items: list[OutputMessage | FunctionCallItem] = []
    if with_message if with_message is not None else (ans.text or not ans.tool_calls):
        text = OutputText(type="output_text", text=ans.text,
                          annotations=[annotation(c, ans.text, media) for c in ans.citations], logprobs=[])
        items.append(OutputMessage(type="message", id=f"msg_{uuid.uuid4().hex[:24]}", status="completed",
                                   role="assistant", content=[text]))
    items.extend(FunctionCallItem(type="function_call", id=f"fc_{uuid.uuid4().hex[:24]}", call_id=c.id, name=c.name,
                                  arguments=c.arguments, status="completed") for c in ans.tool_calls)
    return items


def response_object(rid: str, created_at: int, status: str, body: ResponseRequest, ans: ChatAnswer | None = None,
                    error: ClipciteError | None = None, media: bool = False,
                    with_message: bool | None = None) -> ResponseObject:
    """A Responses API object: the request's settings echoed, the answer's output items and usage."""
    out: dict[str, Any] = {
        "id": rid, "object": "response", "created_at": created_at, "status": status, "model": body.model,
        "instructions": body.instructions, "output": output_items(ans, media, with_message) if ans else [],
        "usage": None, "error": None, "incomplete_details": None, "previous_response_id": body.previous_response_id,
        "store": body.store, "background": body.background, "temperature": body.temperature, "top_p": body.top_p,
        "max_output_tokens": body.max_output_tokens, "parallel_tool_calls": bool(body.parallel_tool_calls),
        "tool_choice": body.tool_choice or "auto",
        "tools": [t.model_dump(exclude_none=True) for t in body.tools or []],
        "text": body.text.model_dump(exclude_none=True, by_alias=True) if body.text else {"format": {"type": "text"}},
        "metadata": body.metadata or {},
    }
    if ans is not None:
        out["usage"] = ResponseUsage(input_tokens=ans.prompt_tokens, output_tokens=ans.completion_tokens,
                                     total_tokens=ans.prompt_tokens + ans.completion_tokens)
        out["grounded"] = ans.grounded
        if ans.finish_reason == "length" and body.knowledge_base is None:  # Cloudglue has no `incomplete`
            out["status"], out["incomplete_details"] = "incomplete", {"reason": "max_output_tokens"}
    if error is not None:
        out["error"] = ResponseErrorOut(message=error.message, type=error.error_type,
                                        code=str(error.code or error.status_code))
    return ResponseObject.model_validate(out)


# --- search ---


def segment_result(h: ScoredSegment, thumbnail_url: str) -> SegmentResult:
    s = h.segment
    return SegmentResult(
        thumbnail_url=thumbnail_url, type="segment", id=s.segment_id, segment_id=s.segment_id, file_id=s.file_id,
        collection_id=s.collection_id, score=round(float(h.score), 6), start_time=s.start_time,
        end_time=s.end_time, filename=s.file_info.get("filename"),
        title=f"{s.file_info.get('filename')} {s.start_time:.1f}-{s.end_time:.1f}s", speech=speech_parts(s),
        scene_text=screen_parts(s), visual_description=visual_parts(s),
        audio_description=sound_parts(s), metadata=s.metadata or None,
        **({"tag": {"id": h.tag[0], "label": h.tag[1], "value": h.tag[2]}} if h.tag else {}))


def file_result(f: FileHit) -> FileResult:
    best = f.segments[0].segment
    return FileResult(type="file", id=f.file_id, file_id=f.file_id, collection_id=f.collection_id,
                      score=round(f.score, 6), filename=best.file_info.get("filename"),
                      summary=(best.speech_text or " | ".join(best.scene_text))[:300])


def segment_group(f: FileHit, items: list[SegmentResult]) -> SegmentGroup:
    return SegmentGroup(type="segment_group", file_id=f.file_id, item_count=len(f.segments),
                        best_score=round(f.score, 6), matched_items=items)
