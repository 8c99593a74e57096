"""A streamed answer that holds a model admission ticket, shared by chat completions and responses."""

from __future__ import annotations

from typing import Any

from fastapi.responses import StreamingResponse

from engine.admission import Ticket


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
