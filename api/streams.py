"""A streamed answer that holds a model admission ticket, shared by chat completions and responses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi.responses import StreamingResponse

from engine.admission import Ticket


class TicketedStream(StreamingResponse):
    """A stream that gives its admission back however the response ends, also when the client left before
    the body was started (then the body generator never runs, so its own `finally` cannot)."""

    def __init__(self, ticket: Ticket, content: AsyncIterator[str], *args: Any, **kw: Any) -> None:
        super().__init__(self._to_the_end(content), *args, **kw)
        self.ticket = ticket
        ticket.streamed = True  # its lease may end before the stream: the stream says how the reader left
        self._ended = False

    async def _to_the_end(self, content: AsyncIterator[str]) -> AsyncIterator[str]:
        async for part in content:
            yield part
        self._ended = True

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            # a reader that left first cut the body short (cancelled, or left for the GC to close)
            self.ticket.settle(self._ended)
            self.ticket.release()
