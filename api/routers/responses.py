"""`/v1/responses`: OpenAI's Responses API and Cloudglue's, one route for both SDKs.

A response is answered by the same engine path as a chat completion (`ChatService.prepare` / `answer` /
`stream`): the request's input items become the engine's turns, `previous_response_id` puts the stored
conversation before them, and the answer becomes output items whose text carries the citations as
annotations. What a later request needs to continue (turns, scope) is stored beside the returned object.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool

from api import model_names
from api.background import Background
from api.deps import MAX_OFFSET, ServicesDep, client_identity
from api.image_queries import QueryImage, last_vector, read_all
from api.paging import window
from api.protocol import ResponseInputItem, ResponseRequest, day_ms, no_logprobs
from api.responses import (
    RESPONSE_RESPONSES,
    InputItem,
    InputItemList,
    ResponseDeleted,
    ResponseList,
    ResponseListItem,
    ResponseObject,
    ResponseStreamEvent,
    errors,
)
from api.serialize import response_object, wire_json
from api.services import Services
from api.streams import TicketedStream
from api.tool_choice import tool_use
from clipcite.errors import ClipciteError, InvalidRequest, NotFound
from clipcite.media import file_id_of
from engine.chat import ChatAnswer, ChatRequest, Prepared
from engine.conversation import Turn
from engine.filters import parse_filter
from engine.generation import GenerationParams
from engine.retrieval import RetrievalOptions
from engine.tools import ToolCall, ToolSpec, ToolUse

log = logging.getLogger(__name__)
router = APIRouter(tags=["responses"])


@dataclass
class Continuation:
    """What is stored beside a response so that `previous_response_id` can continue it."""

    turns: list[Turn]  # the conversation without this request's instructions (OpenAI: not carried over)
    scope: dict[str, Any]  # collections / filter / files, inherited when a follow-up names none
    items: list[dict[str, Any]] = field(default_factory=list)  # this request's input items, as stored

    def to_json(self, answer: ChatAnswer | None) -> dict[str, Any]:
        turns = list(self.turns)
        if answer is not None:
            turns.append(Turn("assistant", answer.text, tuple(answer.tool_calls)))
        return {"turns": [_turn_json(t) for t in turns], "scope": self.scope, "items": self.items}


def _turn_json(t: Turn) -> dict[str, Any]:
    return {"role": t.role, "content": t.content, "tool_calls": [[c.id, c.name, c.arguments] for c in t.tool_calls],
            "tool_call_id": t.tool_call_id}


def _turn_from_json(d: dict[str, Any]) -> Turn:
    return Turn(d["role"], d["content"], tuple(ToolCall(*c) for c in d["tool_calls"]), d["tool_call_id"])


def _input_items(body: ResponseRequest) -> list[ResponseInputItem]:
    if isinstance(body.input, str):
        return [ResponseInputItem(type="message", role="user", content=body.input)]
    return list(body.input)


def _turns(items: list[ResponseInputItem], images: dict[str, QueryImage]) -> list[Turn]:
    """Input items as engine turns: consecutive function calls form one assistant turn (as chat's
    `tool_calls`); an image's words (its text and what it shows) join its message's text."""
    out: list[Turn] = []
    for it in items:
        if it.type == "function_call":
            call = ToolCall(it.call_id or "", it.name or "", it.arguments or "{}")
            if out and out[-1].role == "assistant" and out[-1].tool_calls:
                out[-1] = Turn("assistant", out[-1].content, (*out[-1].tool_calls, call))
            else:
                out.append(Turn("assistant", "", (call,)))
        elif it.type == "function_call_output":
            out.append(Turn("tool", it.text(), tool_call_id=it.call_id))
        else:
            text = "\n".join([it.text(), *(images[r].words for r in it.image_refs())]).strip()
            out.append(Turn("system" if it.role == "developer" else it.role or "user", text))
    return out


def _scope(svc: Services, body: ResponseRequest, previous: dict[str, Any] | None) -> dict[str, Any]:
    kb = body.knowledge_base
    if kb is not None:
        files = [file_id_of(f) or f for f in kb.files or []] if kb.source == "files" else None
        for f in files or []:
            svc.catalog.library.get_file(f)  # 404 for an unknown file
        return {"collections": list(kb.collections or []) if kb.source == "collections" else [],
                "filter": kb.filter if kb.source == "collections" else None, "files": files}
    if body.collections or body.filter:
        return {"collections": list(body.collections or []), "filter": body.filter, "files": None}
    if previous is not None:
        return previous["scope"]
    return {"collections": [], "filter": None, "files": None}


def _filter(scope: dict[str, Any]) -> dict[str, Any] | None:
    raw = dict(scope.get("filter") or {})
    if scope.get("files"):
        raw["file"] = [*raw.get("file", []), {"path": "id", "operator": "In", "valueTextArray": scope["files"]}]
    return raw or None


def _tool_use(body: ResponseRequest) -> ToolUse | None:
    return tool_use(tuple(ToolSpec(t.name or "", t.description or "", t.parameters or {}) for t in body.tools or []),
                    body.tool_choice)


async def to_engine_request(svc: Services, body: ResponseRequest) -> tuple[ChatRequest, Continuation]:
    """The wire request (and the conversation it continues) as an engine request."""
    model_names.require(svc, body.model)
    no_logprobs(bool(body.top_logprobs) or "message.output_text.logprobs" in (body.include or []))
    previous = await run_in_threadpool(svc.catalog.stored.response_context, body.previous_response_id) \
        if body.previous_response_id else None
    items = _input_items(body)
    refs = [r for it in items for r in it.image_refs()]
    images = await run_in_threadpool(read_all, svc, refs, "input")
    new_turns = _turns(items, images)
    history = [_turn_from_json(t) for t in previous["turns"]] if previous else []
    turns = history + new_turns
    scope = await run_in_threadpool(_scope, svc, body, previous)
    s = svc.settings
    fmt = body.text.format if body.text is not None else None
    params = GenerationParams(max_tokens=s.reply_tokens(body.max_output_tokens, fmt is not None and fmt.type != "text"),
                              temperature=0.0 if body.temperature is None else body.temperature,
                              top_p=1.0 if body.top_p is None else body.top_p,
                              response_format=fmt.to_llama() if fmt is not None else None)
    tools = _tool_use(body)
    if tools is not None and params.response_format is not None:
        raise InvalidRequest("use either tools or text.format, not both", param="text.format")
    files = scope.get("files") or []
    req = ChatRequest(turns=([Turn("system", body.instructions)] if body.instructions else []) + turns,
                      collections=list(scope.get("collections") or []),
                      filter=parse_filter(_filter(scope), param="knowledge_base.filter" if body.knowledge_base
                                          else "filter"),
                      video_id=files[0] if len(files) == 1 else None, params=params,
                      retrieval=RetrievalOptions(limit=body.top_k or s.top_k, image=last_vector(images, refs)),
                      tools=tools,
                      strict_grounding=body.strict_grounding)
    stored_items = [{"id": f"item_{uuid.uuid4().hex[:24]}", **it.model_dump(exclude_none=True, mode="json")}
                    for it in items]
    return req, Continuation(turns, scope, stored_items)


@dataclass
class _Job:
    """A response being answered: what its stored object starts as."""

    id: str
    created_ms: int
    body: ResponseRequest
    continuation: Continuation

    def obj(self, status: str, answer: ChatAnswer | None = None, error: ClipciteError | None = None,
            media: bool = False, with_message: bool | None = None) -> ResponseObject:
        return response_object(self.id, self.created_ms // 1000, status, self.body, answer, error, media,
                               with_message)

    def store(self, svc: Services, obj: ResponseObject, answer: ChatAnswer | None = None) -> None:
        if self.body.store:
            svc.catalog.stored.put_response(self.id, self.created_ms, obj.status, wire_json(obj),
                                            self.continuation.to_json(answer))


@router.post("/responses", summary="Answer from the videos (OpenAI / Cloudglue Responses API), with citations",
             response_model=ResponseObject, response_model_exclude_unset=True,
             responses={**RESPONSE_RESPONSES, **errors(400, 404, 409, 503)})
async def create_response(svc: ServicesDep, body: ResponseRequest, request: Request) -> Any:
    req, cont = await to_engine_request(svc, body)
    job = _Job(f"resp_{uuid.uuid4().hex}", int(time.time() * 1000), body, cont)
    media = body.media_descriptions()
    ticket = svc.model.admit(client=client_identity(request))
    try:
        prepared = await run_in_threadpool(svc.chat.prepare, req)
        ticket.cost = prepared.cost  # cheaper requests are handed the model first (SlotQueue)
    except BaseException:
        ticket.release()
        raise
    if body.background:
        obj = job.obj("in_progress")
        job.store(svc, obj)
        Background.of(request).start(job.id, _answer_in_background(svc, job, req, prepared, ticket, media))
        return obj
    if body.stream:
        return TicketedStream(ticket, _sse(svc, job, prepared, request, ticket, media), media_type="text/event-stream",
                              headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    ans = await svc.model.call(svc.chat.answer, req, prepared, ticket=ticket)
    obj = job.obj("completed", ans, media=media)
    job.store(svc, obj, ans)
    return obj


async def _answer_in_background(svc: Services, job: _Job, req: ChatRequest, prepared: Prepared, ticket: Any,
                                media: bool) -> None:
    try:
        ans = await svc.model.call(svc.chat.answer, req, prepared, ticket=ticket, deadline=False)
    except asyncio.CancelledError:
        ticket.release()
        raise
    except ClipciteError as exc:
        job.store(svc, job.obj("failed", error=exc))
        return
    except Exception:  # noqa: BLE001 - a background failure is reported on the stored object
        log.exception("background response %s failed", job.id)
        job.store(svc, job.obj("failed", error=ClipciteError("internal server error")))
        return
    current = svc.catalog.stored.get_response(job.id)
    if current.get("status") == "in_progress":  # not cancelled meanwhile
        job.store(svc, job.obj("completed", ans, media=media), ans)


class _Events:
    """Numbers the stream's events and frames them (`event:` line + JSON data)."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, kind: str, **fields: Any) -> str:
        ev = ResponseStreamEvent(type=kind, sequence_number=self.n, **fields)
        self.n += 1
        return f"event: {kind}\ndata: {json.dumps(wire_json(ev))}\n\n"


async def _sse(svc: Services, job: _Job, prepared: Prepared, request: Request, ticket: Any,
               media: bool) -> AsyncIterator[str]:
    ev = _Events()
    start = wire_json(job.obj("in_progress"))
    yield ev("response.created", response=start)
    yield ev("response.in_progress", response=start)
    msg_id = f"msg_{uuid.uuid4().hex[:24]}"
    opened = False
    stored = False
    failed: ResponseObject | None = None
    parts: list[str] = []
    try:
        async with svc.model.lease(ticket) as lease:
            async for item in lease.iterate(lambda: svc.chat.stream(prepared.request, prepared)):
                if isinstance(item, ChatAnswer):
                    final = _with_message_id(job.obj("completed", item, media=media,
                                                     with_message=opened or not item.tool_calls), msg_id)
                    for event in _final_events(ev, final, opened):
                        yield event
                    job.store(svc, final, item)
                    stored = True
                    yield ev("response.completed", response=wire_json(final))
                    return
                if not opened:
                    opened = True
                    for event in _message_opened(ev, msg_id):
                        yield event
                parts.append(item)
                yield ev("response.output_text.delta", item_id=msg_id, output_index=0, content_index=0, delta=item,
                         logprobs=[])
                if await request.is_disconnected():
                    log.info("client went away; stopping response %s", job.id)
                    ticket.abandon()
                    return
    except ClipciteError as exc:
        failed = job.obj("failed", error=exc)
    except Exception:  # noqa: BLE001 - the stream has started; report in-band
        log.exception("response stream %s failed", job.id)
        failed = job.obj("failed", error=ClipciteError("internal server error"))
    finally:
        if not stored and failed is None:  # the client went away: what it was sent is kept, `incomplete`
            _store_interrupted(svc, job, "".join(parts), msg_id, media)
    if failed is not None:
        job.store(svc, failed)
        yield ev("response.failed", response=wire_json(failed))


def _store_interrupted(svc: Services, job: _Job, text: str, msg_id: str, media: bool) -> None:
    """A stream that ended without its answer (the client hung up) is stored with the text it had sent, as
    `incomplete`, so `responses.retrieve` finds it instead of a 404."""
    partial = ChatAnswer(text=text, citations=[], segments=[], prompt_tokens=0, completion_tokens=0,
                         finish_reason="interrupted", grounded=False)
    obj = _with_message_id(job.obj("incomplete", partial, media=media, with_message=True), msg_id)
    obj.incomplete_details = {"reason": "interrupted"}
    with contextlib.suppress(Exception):  # a store failure must not mask how the stream ended
        job.store(svc, obj, partial)


def _with_message_id(obj: ResponseObject, msg_id: str) -> ResponseObject:
    """The final object's message keeps the id its stream events announced."""
    for item in obj.output:
        if item.type == "message":
            item.id = msg_id
    return obj


def _final_events(ev: _Events, final: ResponseObject, opened: bool) -> list[str]:
    """The events that close the stream's output: the message's annotations and done events (opened
    first when nothing was streamed), then each function call whole (its arguments in one delta)."""
    out = []
    for i, item in enumerate(final.output):
        if item.type == "message":
            text = item.content[0]
            if not opened:
                out.extend(_message_opened(ev, item.id))
            for k, a in enumerate(text.annotations):
                out.append(ev("response.output_text.annotation.added", item_id=item.id, output_index=i,
                              content_index=0, annotation_index=k, annotation=wire_json(a)))
            out.append(ev("response.output_text.done", item_id=item.id, output_index=i, content_index=0,
                          text=text.text, logprobs=[]))
            out.append(ev("response.content_part.done", item_id=item.id, output_index=i, content_index=0,
                          part=wire_json(text)))
        else:
            out.append(ev("response.output_item.added", output_index=i,
                          item=wire_json(item) | {"arguments": "", "status": "in_progress"}))
            out.append(ev("response.function_call_arguments.delta", item_id=item.id, output_index=i,
                          delta=item.arguments))
            out.append(ev("response.function_call_arguments.done", item_id=item.id, output_index=i,
                          arguments=item.arguments, name=item.name))
        out.append(ev("response.output_item.done", output_index=i, item=wire_json(item)))
    return out


def _message_opened(ev: _Events, msg_id: str) -> list[str]:
    return [ev("response.output_item.added", output_index=0,
               item={"type": "message", "id": msg_id, "status": "in_progress", "role": "assistant", "content": []}),
            ev("response.content_part.added", item_id=msg_id, output_index=0, content_index=0,
               part={"type": "output_text", "text": "", "annotations": [], "logprobs": []})]


@router.get("/responses", summary="List stored responses (Cloudglue)", response_model=ResponseList,
            response_model_exclude_unset=True, responses=errors(400))
def list_responses(svc: ServicesDep, limit: Annotated[int, Query(ge=1, le=100)] = 50,
                   offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
                   status: Annotated[str | None, Query(pattern="^(in_progress|completed|failed|cancelled)$")] = None,
                   created_before: str | None = None, created_after: str | None = None) -> ResponseList:
    rows, total = svc.catalog.stored.list_responses(limit, offset, status, day_ms(created_after, "created_after"),
                                                    day_ms(created_before, "created_before"))
    items = [ResponseListItem.model_validate({k: r[k] for k in ("id", "object", "status", "created_at", "model",
                                                                "instructions", "usage") if k in r}) for r in rows]
    return ResponseList(object="list", data=items, total=total, limit=limit, offset=offset)


@router.get("/responses/{response_id}", summary="Get a stored response", response_model=ResponseObject,
            response_model_exclude_unset=True, responses=errors(404))
def get_response(svc: ServicesDep, response_id: str) -> ResponseObject:
    return ResponseObject.model_validate(svc.catalog.stored.get_response(response_id))


@router.delete("/responses/{response_id}", summary="Delete a stored response", response_model=ResponseDeleted,
               responses=errors(404))
async def delete_response(svc: ServicesDep, response_id: str, request: Request) -> ResponseDeleted:
    Background.of(request).cancel(response_id)
    await run_in_threadpool(svc.catalog.stored.delete_response, response_id)
    return ResponseDeleted(id=response_id, object="response", deleted=True)


@router.post("/responses/{response_id}/cancel", summary="Cancel a background response",
             response_model=ResponseObject, response_model_exclude_unset=True, responses=errors(400, 404))
def cancel_response(svc: ServicesDep, response_id: str, request: Request) -> ResponseObject:
    """A finished response is returned as it is (completed, failed or cancelled)."""
    data = svc.catalog.stored.get_response(response_id)
    if not data.get("background"):
        raise InvalidRequest("only background responses can be cancelled", param="response_id")
    if data.get("status") in ("queued", "in_progress"):
        Background.of(request).cancel(response_id)
        data["status"] = "cancelled"
        context = svc.catalog.stored.response_context(response_id)
        svc.catalog.stored.put_response(response_id, data["created_at"] * 1000, "cancelled", data, context)
    return ResponseObject.model_validate(data)


@router.get("/responses/{response_id}/input_items", summary="The input items of a stored response",
            response_model=InputItemList, response_model_exclude_unset=True, responses=errors(400, 404))
def list_input_items(svc: ServicesDep, response_id: str, limit: Annotated[int, Query(ge=1, le=100)] = 20,
                     order: Annotated[str, Query(pattern="^(asc|desc)$")] = "desc",
                     after: str | None = None, before: str | None = None) -> InputItemList:
    try:
        items = svc.catalog.stored.response_context(response_id)["items"]
    except NotFound:
        raise NotFound(f"response {response_id!r} not found", param="response_id") from None
    items = items[::-1] if order == "desc" else items
    limit, offset = window(limit, 0, after, before, lambda: [i["id"] for i in items])
    data = [InputItem.model_validate(_item_out(i)) for i in items[offset:offset + limit]]
    return InputItemList(object="list", data=data, first_id=data[0].id if data else None,
                         last_id=data[-1].id if data else None, has_more=offset + limit < len(items))


def _item_out(item: dict[str, Any]) -> dict[str, Any]:
    """A stored input item in OpenAI's item shape (message content always a list of parts)."""
    out = dict(item)
    if out.get("type", "message") == "message":
        out["type"] = "message"
        content = out.get("content")
        if isinstance(content, str):
            out["content"] = [{"type": "input_text" if out.get("role") != "assistant" else "output_text",
                               "text": content}]
        out["status"] = "completed"
    if isinstance(out.get("output"), list):
        out["output"] = "\n".join(p.get("text") or "" for p in out["output"])
    return out
