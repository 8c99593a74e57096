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

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from api.deps import ServicesDep
from api.errors import error_body
from api.protocol import ChatCompletionRequest, ChatMessageIn
from api.responses import CHAT_RESPONSES, ChatCompletion, ChatCompletionList, errors
from api.serialize import list_obj
from api.services import Services
from api.video_links import linked_video
from clipcite.errors import ClipciteError, InvalidRequest, NotFound
from engine.admission import Ticket
from engine.chat import ChatAnswer, ChatRequest, LinkedVideo, Prepared
from engine.citations import citation_to_wire
from engine.conversation import Turn
from engine.filters import parse_filter
from engine.generation import GenerationParams
from engine.retrieval import RetrievalOptions
from engine.tools import ToolCall, ToolSpec, ToolUse

log = logging.getLogger(__name__)
router = APIRouter(tags=["chat"])


def accepted_models(svc: Services) -> set[str]:
    s = svc.settings
    return {s.chat_model, s.chat_model_alias, svc.generator.model_path.stem, "clipcite"}


def to_engine_request(svc: Services, body: ChatCompletionRequest, linked: LinkedVideo | None = None) -> ChatRequest:
    """The wire request as an engine request: conversion and wire-level checks only (the engine decides
    scope, summary mode and grounding)."""
    if body.model not in accepted_models(svc):
        raise NotFound(f"model {body.model!r} not found; available: {sorted(accepted_models(svc))}", param="model",
                       code="model_not_found")
    if (body.model_extra or {}).get("functions"):
        raise InvalidRequest("the legacy `functions` field is not supported; send `tools`", param="functions")
    collections = list(body.collections or [])
    if body.collection_id:
        collections.append(body.collection_id)
    s = svc.settings
    params = GenerationParams(
        max_tokens=body.max_completion_tokens or body.max_tokens or s.max_answer_tokens,
        temperature=0.0 if body.temperature is None else body.temperature,
        top_p=1.0 if body.top_p is None else body.top_p, seed=body.seed, stop=body.stop_list(),
        presence_penalty=body.presence_penalty, frequency_penalty=body.frequency_penalty,
        response_format=body.response_format.to_llama() if body.response_format else None)
    tools = _tool_use(body)
    if tools is not None and params.response_format is not None:
        raise InvalidRequest("use either tools or response_format, not both", param="response_format")
    return ChatRequest(turns=[_turn(m) for m in body.messages], collections=collections,
                       filter=parse_filter(body.filter), video_id=body.video_id,
                       linked=linked,
                       params=params, retrieval=RetrievalOptions(limit=body.top_k or s.top_k), tools=tools,
                       strict_grounding=body.strict_grounding)


def _turn(m: ChatMessageIn) -> Turn:
    calls = tuple(ToolCall(c.id, c.function.name, c.function.arguments if isinstance(c.function.arguments, str)
                           else json.dumps(c.function.arguments)) for c in m.tool_calls or [])
    return Turn(role="system" if m.role == "developer" else m.role, content=m.text(), tool_calls=calls,
                tool_call_id=m.tool_call_id)


def _tool_use(body: ChatCompletionRequest) -> ToolUse | None:
    """OpenAI's rules: no tools or tool_choice "none" -> plain answer; default "auto"; a named function
    must be one of the tools."""
    choice = body.tool_choice
    if not body.tools:
        if choice not in (None, "none", "auto"):
            raise InvalidRequest("tool_choice needs tools", param="tool_choice")
        return None
    if choice == "none":
        return None
    specs = tuple(ToolSpec(t.function.name, t.function.description, t.function.parameters or {}) for t in body.tools)
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name")
        if choice.get("type") != "function" or name not in {t.name for t in specs}:
            raise InvalidRequest("tool_choice must name one of the tools: {\"type\": \"function\", "
                                 "\"function\": {\"name\": ...}}", param="tool_choice")
        return ToolUse(specs, name)
    return ToolUse(specs, choice or "auto")


def _payload_echo(body: ChatCompletionRequest) -> dict[str, Any]:
    out: dict[str, Any] = {"messages": [{"role": m.role, "content": m.text()} for m in body.messages],
                           "collections": body.collections or ([body.collection_id] if body.collection_id else [])}
    if body.temperature is not None:
        out["temperature"] = body.temperature
    if body.filter:
        out["filter"] = body.filter
    return out


def _message(ans: ChatAnswer) -> dict[str, Any]:
    if ans.tool_calls:
        return {"role": "assistant", "content": ans.text or None,
                "tool_calls": [c.to_wire() for c in ans.tool_calls]}
    return {"role": "assistant", "content": ans.text}


def completion_obj(cid: str, created_ms: int, model: str, ans: ChatAnswer,
                   body: ChatCompletionRequest) -> dict[str, Any]:
    return {
        "id": cid, "object": "chat.completion", "created": created_ms // 1000, "created_at": created_ms,
        "model": model,
        "choices": [{"index": 0, "message": _message(ans),
                     "finish_reason": ans.finish_reason, "logprobs": None, "grounded": ans.grounded,
                     "citations": [citation_to_wire(c) for c in ans.citations]}],
        "usage": {"prompt_tokens": ans.prompt_tokens, "completion_tokens": ans.completion_tokens,
                  "total_tokens": ans.prompt_tokens + ans.completion_tokens},
        "payload": _payload_echo(body),
    }


@router.post("/chat/completions", summary="Answer from the videos, with timestamped citations",
            responses={**CHAT_RESPONSES, **errors(400, 404, 409, 422, 503)})
async def create_chat_completion(svc: ServicesDep, body: ChatCompletionRequest, request: Request) -> Any:
    linked = await linked_video(svc, body)
    req = await run_in_threadpool(to_engine_request, svc, body, linked)
    cid = f"chatcmpl-{uuid.uuid4().hex}"
    created_ms = int(time.time() * 1000)
    ticket = svc.model.admit()  # 503 + Retry-After past the bound, before any byte is sent
    try:
        # Retrieval and prompt fitting need no model slot; done before the first byte, so a prompt that
        # cannot fit is a 400 status, not an error inside a started stream.
        prepared = await run_in_threadpool(svc.chat.prepare, req)
    except BaseException:
        ticket.release()
        raise
    if body.stream:
        return TicketedStream(ticket, _sse(svc, prepared, body, cid, created_ms, request, ticket),
                              media_type="text/event-stream",
                              headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    ans = await svc.model.call(svc.chat.answer, req, prepared, ticket=ticket)
    out = completion_obj(cid, created_ms, body.model, ans, body)
    svc.catalog.stored.put_completion(cid, created_ms, out)
    return out


class TicketedStream(StreamingResponse):
    """A stream that gives its admission back however the response ends, also when the client left before
    the body was started (then the body generator never runs, so its own `finally` cannot)."""

    def __init__(self, ticket: Ticket, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.ticket = ticket

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.ticket.release()


def _chunk(cid: str, created_ms: int, model: str, delta: dict[str, Any], finish: str | None = None,
           **extra: Any) -> str:
    choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None, **extra}
    obj = {"id": cid, "object": "chat.completion.chunk", "created": created_ms // 1000, "model": model,
           "choices": [choice]}
    return f"data: {json.dumps(obj)}\n\n"


async def _sse(svc: Services, prepared: Prepared, body: ChatCompletionRequest, cid: str, created_ms: int,
               request: Request, ticket: Ticket) -> AsyncIterator[str]:
    model, req = body.model, prepared.request
    try:
        yield _chunk(cid, created_ms, model, {"role": "assistant", "content": ""})
        async with svc.model.lease(ticket) as lease:
            async for item in lease.iterate(lambda: svc.chat.stream(req, prepared)):
                if isinstance(item, ChatAnswer):
                    if item.tool_calls:
                        yield _chunk(cid, created_ms, model,
                                     {"tool_calls": [c.to_wire(index=i) for i, c in enumerate(item.tool_calls)]})
                    citations = [citation_to_wire(c) for c in item.citations]
                    yield _chunk(cid, created_ms, model, {}, item.finish_reason, citations=citations,
                                 grounded=item.grounded)
                    if body.stream_options and body.stream_options.include_usage:
                        usage = {"prompt_tokens": item.prompt_tokens, "completion_tokens": item.completion_tokens,
                                 "total_tokens": item.prompt_tokens + item.completion_tokens}
                        chunk = {"id": cid, "object": "chat.completion.chunk", "created": created_ms // 1000,
                                 "model": model, "choices": [], "usage": usage}
                        yield f"data: {json.dumps(chunk)}\n\n"
                    stored = completion_obj(cid, created_ms, model, item, body)
                    svc.catalog.stored.put_completion(cid, created_ms, stored)
                    break
                yield _chunk(cid, created_ms, model, {"content": item})
                if await request.is_disconnected():
                    log.info("client went away; stopping generation of %s", cid)
                    break
    except ClipciteError as exc:
        yield f"data: {json.dumps(error_body(exc.message, exc.error_type, exc.param, exc.code or exc.status_code))}\n\n"
    except Exception:  # noqa: BLE001 - the stream has started; report in-band
        log.exception("stream %s failed", cid)
        yield f"data: {json.dumps(error_body('internal server error', 'server_error', None, 500))}\n\n"
    yield "data: [DONE]\n\n"


@router.get("/chat/completions", summary="List stored chat completions",
            responses={200: {"model": ChatCompletionList}, **errors(400)})
def list_completions(svc: ServicesDep, limit: Annotated[int, Query(ge=1, le=100)] = 50,
                     offset: Annotated[int, Query(ge=0)] = 0) -> dict[str, Any]:
    rows, total = svc.catalog.stored.list_completions(limit, offset)
    return list_obj(rows, total, limit, offset)


@router.get("/chat/completions/{completion_id}", summary="Get a stored chat completion",
            responses={200: {"model": ChatCompletion}, **errors(404)})
def get_completion(svc: ServicesDep, completion_id: str) -> dict[str, Any]:
    return svc.catalog.stored.get_completion(completion_id)

