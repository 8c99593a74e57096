"""A streamed answer that holds a model admission ticket, shared by chat completions and responses."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi.responses import StreamingResponse

from engine.admission import Ticket


class TicketedStream(StreamingResponse):
    """A stream that gives its admission back however the response ends, also when the client left before
    the body was started (then the body generator never runs, so its own `finally` cannot)."""

    def __init__(self, ticket: Ticket, content: AsyncIterator[str], *args: Any, **kw: Any) -> None:
        super().__init__(self._to_the_end(content), *args, **kw)
        self.ticket = ticket
        self._ended = False

    async def _to_the_end(self, content: AsyncIterator[str]) -> AsyncIterator[str]:
        async for part in content:
            yield part
        self._ended = True

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            if not self._ended:  # the reader left first (the body may be closed only later, by the GC)
                self.ticket.abandon()
            self.ticket.release()


@asynccontextmanager
async def read_or_abandoned(ticket: Ticket) -> AsyncIterator[None]:
    """Around a stream's model work: a reader that leaves before the answer ends (the body cancelled or
    closed) marks the ticket abandoned, before the lease gives the slot back (`engine.client_standing`)."""
    try:
        yield
    except (asyncio.CancelledError, GeneratorExit):
        ticket.abandon()
        raise
