"""`POST /v1/chat/completions`: OpenAI-compatible, with Cloudglue's collections/filter/citations.

The wire request becomes an engine `ChatRequest` in exactly one function (`to_engine_request`).
Blocking model work runs in the thread pool; streaming follows OpenAI's SSE framing: role first,
content deltas, the citations on the final chunk, a usage chunk when asked, and always `[DONE]`.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from api import model_names
from api.deps import MAX_OFFSET, ServicesDep, client_identity
from api.errors import error_body
from api.image_queries import QueryImage, last_vector, read_all
from api.paging import window
from api.protocol import ChatCompletionRequest, ChatMessageIn, no_logprobs
from api.responses import CHAT_RESPONSES, ChatCompletion, ChatCompletionList, Deleted, Delta, errors
from api.serialize import chunk, completion, page, tool_call, usage_chunk, wire_json
from api.services import Services
from api.streams import TicketedStream
from api.tool_choice import tool_use
from api.video_links import linked_video
from clipcite.errors import ClipciteError, InvalidRequest
from engine.admission import Ticket
from engine.chat import ChatAnswer, ChatRequest, LinkedVideo, Prepared
from engine.conversation import Turn
from engine.filters import parse_filter
from engine.generation import GenerationParams
from engine.retrieval import RetrievalOptions
from engine.tools import ToolCall, ToolSpec, ToolUse

log = logging.getLogger(__name__)
router = APIRouter(tags=["chat"])


def to_engine_request(svc: Services, body: ChatCompletionRequest, linked: LinkedVideo | None = None) -> ChatRequest:
    """The wire request as an engine request: conversion and wire-level checks only (the engine decides
    scope, summary mode and grounding)."""
    model_names.require(svc, body.model)
    no_logprobs(bool(body.logprobs or body.top_logprobs))
    if (body.model_extra or {}).get("functions"):
        raise InvalidRequest("the legacy `functions` field is not supported; send `tools`", param="functions")
    collections = list(body.collections or [])
    if body.collection_id:
        collections.append(body.collection_id)
    s = svc.settings
    params = GenerationParams(
        max_tokens=s.reply_tokens(body.max_completion_tokens or body.max_tokens,
                                  body.response_format is not None and body.response_format.type != "text"),
        temperature=0.0 if body.temperature is None else body.temperature,
        top_p=1.0 if body.top_p is None else body.top_p, seed=body.seed, stop=body.stop_list(),
        presence_penalty=body.presence_penalty, frequency_penalty=body.frequency_penalty,
        response_format=body.response_format.to_llama() if body.response_format else None)
    tools = _tool_use(body)
    if tools is not None and params.response_format is not None:
        raise InvalidRequest("use either tools or response_format, not both", param="response_format")
    refs = [r for m in body.messages if m.role == "user" for r in m.image_refs()]
    images = read_all(svc, refs, "messages")
    return ChatRequest(turns=[_turn(m, images) for m in body.messages], collections=collections,
                       filter=parse_filter(body.filter), video_id=body.video_id,
                       linked=linked,
                       params=params, tools=tools,
                       retrieval=RetrievalOptions(limit=body.top_k or s.top_k, image=last_vector(images, refs)),
                       strict_grounding=body.strict_grounding)


def server_timing(timings: dict[str, float]) -> str:
    """Where a reply's time went (retrieve, prompt, prompt_eval, generation, checks...), as a standard
    `Server-Timing` header in milliseconds: browsers' network panels and benchmarks read it, the body stays
    OpenAI's shape."""
    return ", ".join(f"{name};dur={secs * 1000:.0f}" for name, secs in timings.items())


def _turn(m: ChatMessageIn, images: dict[str, QueryImage]) -> Turn:
    """A wire message as a turn; an image's words (its text, what it shows) join a user message's text."""
    calls = tuple(ToolCall(c.id, c.function.name, c.function.arguments if isinstance(c.function.arguments, str)
                           else json.dumps(c.function.arguments)) for c in m.tool_calls or [])
    text = m.text()
    if m.role == "user" and (refs := m.image_refs()):
        text = "\n".join([text, *(images[r].words for r in refs)]).strip()
    return Turn(role="system" if m.role == "developer" else m.role, content=text, tool_calls=calls,
                tool_call_id=m.tool_call_id)


def _tool_use(body: ChatCompletionRequest) -> ToolUse | None:
    specs = tuple(ToolSpec(t.function.name, t.function.description, t.function.parameters or {})
                  for t in body.tools or [])
    return tool_use(specs, body.tool_choice)


def _payload_echo(body: ChatCompletionRequest) -> dict[str, Any]:
    out: dict[str, Any] = {"messages": [{"role": m.role, "content": m.text()} for m in body.messages],
                           "collections": body.collections or ([body.collection_id] if body.collection_id else [])}
    if body.temperature is not None:
        out["temperature"] = body.temperature
    if body.filter:
        out["filter"] = body.filter
    return out


@router.post("/chat/completions", summary="Answer from the videos, with timestamped citations",
            response_model=ChatCompletion, response_model_exclude_unset=True,
            responses={**CHAT_RESPONSES, **errors(400, 404, 409, 422, 503)})
async def create_chat_completion(svc: ServicesDep, body: ChatCompletionRequest, request: Request,
                                 response: Response) -> Any:
    linked = await linked_video(svc, body)
    req = await run_in_threadpool(to_engine_request, svc, body, linked)
    cid = f"chatcmpl-{uuid.uuid4().hex}"
    created_ms = int(time.time() * 1000)
    ticket = svc.model.admit(client=client_identity(request))  # 503 + Retry-After past the bound, at once
    try:
        # Retrieval and prompt fitting need no model slot; done before the first byte, so a prompt that
        # cannot fit is a 400 status, not an error inside a started stream.
        prepared = await run_in_threadpool(svc.chat.prepare, req)
        ticket.cost = prepared.cost  # cheaper requests are handed the model first (SlotQueue)
    except BaseException:
        ticket.release()
        raise
    if body.stream:
        return TicketedStream(ticket, _sse(svc, prepared, body, cid, created_ms, request, ticket),
                              media_type="text/event-stream",
                              headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    asked = time.monotonic()
    ans = await svc.model.call(svc.chat.answer, req, prepared, ticket=ticket)
    waited = {"wait": (ticket.granted or asked) - asked}  # for the model slot, behind other requests
    response.headers["Server-Timing"] = server_timing({**waited, **ans.timings})
    out = completion(cid, created_ms, body.model, ans, _payload_echo(body))
    svc.catalog.stored.put_completion(cid, created_ms, wire_json(out))
    return out


def _sse_data(obj: dict[str, Any]) -> str:
    """One SSE event (OpenAI's framing; `json.dumps` with its default separators)."""
    return f"data: {json.dumps(obj)}\n\n"


async def _sse(svc: Services, prepared: Prepared, body: ChatCompletionRequest, cid: str, created_ms: int,
               request: Request, ticket: Ticket) -> AsyncIterator[str]:
    model, req = body.model, prepared.request
    try:
        yield _sse_data(wire_json(chunk(cid, created_ms, model, Delta(role="assistant", content=""))))
        async with svc.model.lease(ticket) as lease:
            async for item in lease.iterate(lambda: svc.chat.stream(req, prepared)):
                if isinstance(item, ChatAnswer):
                    if item.tool_calls:
                        calls = [tool_call(c, index=i) for i, c in enumerate(item.tool_calls)]
                        yield _sse_data(wire_json(chunk(cid, created_ms, model, Delta(tool_calls=calls))))
                    yield _sse_data(wire_json(chunk(cid, created_ms, model, Delta(), item.finish_reason, final=item)))
                    if body.stream_options and body.stream_options.include_usage:
                        yield _sse_data(wire_json(usage_chunk(cid, created_ms, model, item)))
                    svc.catalog.stored.put_completion(
                        cid, created_ms, wire_json(completion(cid, created_ms, model, item, _payload_echo(body))))
                    break
                yield _sse_data(wire_json(chunk(cid, created_ms, model, Delta(content=item))))
                if await request.is_disconnected():
                    log.info("client went away; stopping generation of %s", cid)
                    ticket.abandon()
                    break
    except ClipciteError as exc:
        yield _sse_data(error_body(exc.message, exc.error_type, exc.param, exc.code or exc.status_code))
    except Exception:  # noqa: BLE001 - the stream has started; report in-band
        log.exception("stream %s failed", cid)
        yield _sse_data(error_body("internal server error", "server_error", None, 500))
    yield "data: [DONE]\n\n"


@router.get("/chat/completions", summary="List stored chat completions",
            response_model=ChatCompletionList, response_model_exclude_unset=True, responses=errors(400))
def list_completions(svc: ServicesDep, limit: Annotated[int, Query(ge=1, le=100)] = 50,
                     offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0, after: str | None = None,
                     before: str | None = None) -> ChatCompletionList:
    """Newest first; `after` / `before` are OpenAI's cursors (a completion id)."""
    limit, offset = window(limit, offset, after, before, svc.catalog.stored.completion_ids)
    rows, total = svc.catalog.stored.list_completions(limit, offset)
    return page(ChatCompletionList, [ChatCompletion.model_validate(r) for r in rows], total, limit, offset)


@router.get("/chat/completions/{completion_id}", summary="Get a stored chat completion",
            response_model=ChatCompletion, response_model_exclude_unset=True, responses=errors(404))
def get_completion(svc: ServicesDep, completion_id: str) -> ChatCompletion:
    return ChatCompletion.model_validate(svc.catalog.stored.get_completion(completion_id))



@router.delete("/chat/completions/{completion_id}", summary="Delete a stored chat completion",
               response_model=Deleted, responses=errors(404))
def delete_completion(svc: ServicesDep, completion_id: str) -> Deleted:
    """OpenAI's `client.chat.completions.delete` (`chat.completion.deleted`)."""
    svc.catalog.stored.delete_completion(completion_id)
    return Deleted.model_validate({"id": completion_id, "object": "chat.completion.deleted", "deleted": True})
