"""Request bodies are capped before they are read whole.

Why: a 50 MB JSON chat body was read, parsed and validated in full (RSS +450 MB) and its text then went to
tokenizing and embedding, which held every other user's search and chat for minutes. Here a declared
`Content-Length` over the cap is answered 413 at once, without reading a byte of the body, and a body
sent without a length (chunked) is counted as it arrives and refused as soon as it passes the cap. Uploads
(multipart `POST /v1/files`) have their own, larger cap (`max_upload_bytes`).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from clipcite.errors import PayloadTooLarge

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"request body exceeds {limit} bytes (CLIPCITE_MAX_REQUEST_BYTES; uploads: "
                           "CLIPCITE_MAX_UPLOAD_BYTES)")


class BodyLimit:
    """ASGI middleware: `limit_for(scope)` is the cap of a request (the upload cap for uploads)."""

    def __init__(self, app: Callable, limit_for: Callable[[Scope], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _refuse(send, _too_large(limit))
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:  # raised inside the route's body read: mapped to 413 like any typed error
                    raise _too_large(limit)
            return message

        await self.app(scope, counted, send)


async def _refuse(send: Send, exc: PayloadTooLarge) -> None:
    body = json.dumps({"error": {"message": exc.message, "type": exc.error_type, "param": None,
                                 "code": exc.status_code}}).encode()
    await send({"type": "http.response.start", "status": exc.status_code,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
