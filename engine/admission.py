"""The one way to take the model: admission bound, model slot and worker thread under one lease.

One model instance serves requests in turn. Past the admission bound a request is refused at once with
`Overloaded` (503 + Retry-After) instead of queueing without limit; admitted requests wait for the one
model slot on the event loop (not in a worker thread, so waiting chats never use up the thread pool that
uploads and listings need), then run their blocking llama.cpp work in a thread.

Why a lease and not a semaphore in each route: a streamed answer can end in five ways (finished,
failed, client gone, server shutting down, never started because the client left before the response
began), and on an anyio cancel scope a `finally` that awaits is itself cancelled. A slot released by an
`await` in a `finally` was therefore skipped on disconnect and every later chat hung. Here nothing is
released by an await: the slot goes back when the lease has ended *and* its model thread has finished
(a thread cannot be killed, and a second generation would only block on llama.cpp's lock), scheduled
from the thread's own completion; a stream's thread is told to stop between tokens when its reader goes.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import TypeVar

from clipcite.errors import Overloaded, RequestTimeout
from engine.client_standing import ClientStanding

log = logging.getLogger(__name__)
T = TypeVar("T")
_DONE = object()
_current = threading.local()


def current_stop() -> threading.Event | None:
    """The stop signal of the lease whose model thread is running this code (None outside one): generation
    checks it between tokens, so a request past its deadline gives the model back."""
    return getattr(_current, "stop", None)


DEFAULT_COST = 1024.0  # prompt tokens assumed for model work that does not say (summaries, describe, tags)
# How fast waiting makes up for cost: each second waited counts as this many tokens cheaper, so nothing
# waits for ever (a 2000-token prompt goes before a 700-token one that came 26 s later). Faster aging
# undoes the order exactly when it matters: with eight requests queued, waits of 20 s made it first come,
# first served (soak: 400 tokens a second left a short question 22.7 s behind the long conversations).
AGING_TOKENS_PER_SECOND = 50.0


class Ticket:
    """An admitted request's place under the bound; `release` is idempotent, so every exit path may call it.
    `cost` (estimated prompt tokens) orders the waiters for the model slot (`SlotQueue`); `client` says whose
    request it is (`ClientStanding`); `abandon()` marks an answer its reader left before the end. How the
    request ended goes to the client's standing once, if the model worked for it: at `release`, or, for a
    `streamed` ticket (whose lease may end before the stream does), at `settle`."""

    def __init__(self, gate: ModelAccess, cost: float = DEFAULT_COST, client: str = "") -> None:
        self._gate = gate
        self._held = True
        self.admitted = time.monotonic()  # the request's deadline counts from here
        self.cost = cost
        self.client = client
        self.granted: float | None = None  # when it was handed the model slot
        self.abandoned = False
        self.streamed = False

    def abandon(self) -> None:
        self.abandoned = True

    def settle(self, ended: bool) -> None:
        """A streamed request's end: `ended`, whether its body ran to its last event."""
        if self.granted is not None:  # the model worked for it: read or walked away from
            self._gate.standing.record(self.client, self.abandoned or not ended)

    def release(self) -> None:
        if self._held:
            self._held = False
            if not self.streamed:
                self.settle(ended=True)
            self._gate._leave()


class Lease:
    """Holds the model slot. Blocking model work runs through `run` / `iterate` in threads it tracks."""

    def __init__(self, access: ModelAccess, ticket: Ticket, loop: asyncio.AbstractEventLoop) -> None:
        self._access = access
        self._ticket = ticket
        self._loop = loop
        self._running = 0
        self._ended = False
        self._released = False
        self.stop = threading.Event()  # set when the lease ends, its deadline passes or the server shuts down
        self.expired = False  # the deadline passed: the work was stopped and the caller gets RequestTimeout
        self.started = time.monotonic()
        self._timer: asyncio.TimerHandle | None = None

    def expire(self) -> None:
        self.expired = True
        self.stop.set()

    def _check(self) -> None:
        if self.expired:
            raise RequestTimeout("the request ran past its deadline (CLIPCITE_REQUEST_TIMEOUT_SECONDS); "
                                 "its model work was stopped")

    async def run(self, fn: Callable[..., T], *args) -> T:
        """`fn(*args)` in a worker thread; if the caller is cancelled the thread finishes on its own and the
        slot is released only then."""
        fut = self._start(fn, *args)
        try:
            return await asyncio.wrap_future(fut)
        except Exception:
            self._check()  # stopped by the deadline: that is the error the caller should see
            raise
        finally:
            self._check()

    async def iterate(self, produce: Callable[[], Iterator[T]]) -> AsyncIterator[T]:
        """Items of the blocking iterator `produce()`, which runs (and is closed) in one worker thread. When the
        reader stops early (client gone, error, shutdown) the thread stops before its next item."""
        queue: asyncio.Queue = asyncio.Queue()  # tokens are small; a reader that goes away stops the pump

        def put(item: object) -> None:
            try:
                self._loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the loop is gone (shutdown): nobody is reading
                self.stop.set()

        def pump() -> None:
            it = produce()
            try:
                for item in it:
                    if self.stop.is_set():
                        break
                    put(item)
            except BaseException as exc:  # noqa: BLE001 - handed to the reader
                put(_Failure(exc))
            finally:
                close = getattr(it, "close", None)
                if close is not None:
                    close()
                put(_DONE)

        self._start(pump)
        try:
            while True:
                item = await queue.get()
                if item is _DONE:
                    self._check()
                    return
                if isinstance(item, _Failure):
                    self._check()
                    raise item.exc
                yield item
        finally:
            self.stop.set()

    def _start(self, fn: Callable[..., T], *args) -> concurrent.futures.Future:
        if self._ended:
            raise RuntimeError("the model lease has ended")

        def in_thread() -> T:
            _current.stop = self.stop
            try:
                return fn(*args)
            finally:
                _current.stop = None

        fut = self._access.executor.submit(in_thread)  # RuntimeError after close(): the server is stopping
        self._running += 1
        fut.add_done_callback(lambda _: self._call_in_loop(self._thread_done))
        return fut

    def _call_in_loop(self, fn: Callable[[], None]) -> None:
        try:
            self._loop.call_soon_threadsafe(fn)
        except RuntimeError:  # loop closed at shutdown: release directly (nothing waits on it any more)
            fn()

    def _thread_done(self) -> None:
        self._running -= 1
        self._maybe_release()

    def end(self) -> None:
        self._ended = True
        self.stop.set()
        if self._timer is not None:
            self._timer.cancel()
        self._maybe_release()

    def _maybe_release(self) -> None:
        if self._ended and self._running == 0 and not self._released:
            self._released = True
            self._access._release_slot(self)
            self._ticket.release()


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class SlotQueue:
    """The model slots, handed to the cheapest waiter first, with aging.

    Why not first come, first served: one CPU model serves everyone in turn, so under load a short question
    waited behind every long conversation and every full-context request queued before it (33x its time
    alone in the soak). Served cheapest-first, a request waits only behind those no costlier than it, plus
    the one running; its priority improves with the time it has waited, so a costly request is delayed, never
    starved. A client that walked away from its recent answers waits as if its request were costlier
    (`engine.client_standing`, added by `ModelAccess.lease`). A waiter cancelled (client gone, deadline)
    leaves the queue; one cancelled just after being handed a slot passes it on."""

    def __init__(self, slots: int) -> None:
        self.free = slots
        self._waiters: list[tuple[float, float, asyncio.Future]] = []  # (cost, since, future)

    @property
    def waiting(self) -> int:
        return sum(not f.done() for _, _, f in self._waiters)

    async def acquire(self, cost: float, since: float) -> None:
        if self.free > 0 and not self.waiting:
            self.free -= 1
            return
        entry = (cost, since, asyncio.get_running_loop().create_future())
        self._waiters.append(entry)
        try:
            await entry[2]
        except BaseException:
            if entry in self._waiters:
                self._waiters.remove(entry)
            elif entry[2].done() and not entry[2].cancelled():
                self.release()  # handed the slot as it was cancelled: the next waiter gets it
            raise

    def release(self) -> None:
        now = time.monotonic()
        live = [w for w in self._waiters if not w[2].done()]
        if not live:
            self._waiters.clear()
            self.free += 1
            return
        best = min(live, key=lambda w: (w[0] - AGING_TOKENS_PER_SECOND * (now - w[1]), w[1]))
        self._waiters.remove(best)
        best[2].set_result(None)


class ModelAccess:
    """Admission bound + one model slot + the model's worker threads; `close()` stops live streams."""

    def __init__(self, max_in_flight: int, retry_after: int = 5, slots: int = 1,
                 timeout: float | None = None) -> None:
        self.max_in_flight = max_in_flight
        self.retry_after = retry_after
        self.slots = slots
        self.timeout = timeout  # a request's deadline from admission (None: none); background work passes None
        self._in_flight = 0
        self._lock = threading.Lock()
        self._slot: SlotQueue | None = None
        self._leases: set[Lease] = set()
        self.standing = ClientStanding()
        self.executor = concurrent.futures.ThreadPoolExecutor(max_workers=slots + 2, thread_name_prefix="model")

    @property
    def in_flight(self) -> int:
        """Requests admitted and not finished (waiting for the slot, running, or their thread winding down)."""
        return self._in_flight

    @property
    def busy(self) -> int:
        """Leases holding a slot now."""
        return len(self._leases)

    def overdue(self) -> float:
        """Seconds the longest-held slot has been held past the request deadline (0: none is); a lease that
        outlives its deadline means a model call did not stop (`/health` reports it)."""
        if self.timeout is None or not self._leases:
            return 0.0
        held = time.monotonic() - min(lease.started for lease in list(self._leases))
        return max(0.0, held - self.timeout - 5.0)

    def admit(self, cost: float = DEFAULT_COST, client: str = "") -> Ticket:
        """A place under the bound, or `Overloaded` at once. Take it before a response starts, so the 503 is
        a status code and not an in-band stream error. `cost`: estimated prompt tokens (the ticket's `cost`
        may also be set once the prompt is built); `client`: who asks (`ClientStanding`)."""
        with self._lock:
            if self._in_flight >= self.max_in_flight:
                raise Overloaded(f"{self._in_flight} chat requests are already running or waiting; retry shortly",
                                 retry_after=self.retry_after)
            self._in_flight += 1
        return Ticket(self, cost, client)

    def _leave(self) -> None:
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)

    def _queue(self) -> SlotQueue:
        if self._slot is None:
            self._slot = SlotQueue(self.slots)
        return self._slot

    @asynccontextmanager
    async def lease(self, ticket: Ticket | None = None, deadline: bool = True) -> AsyncIterator[Lease]:
        """Admission (unless a ticket was taken already), then the slot; released on every exit path.
        `deadline`: the request's work is stopped `timeout` seconds after its admission (background work,
        which no client waits on, passes False)."""
        ticket = ticket or self.admit()
        limit = self.timeout if deadline else None
        remaining = None if limit is None else max(0.0, limit - (time.monotonic() - ticket.admitted))
        slot = self._queue()
        try:
            cost = ticket.cost + self.standing.penalty(ticket.client)
            await asyncio.wait_for(slot.acquire(cost, ticket.admitted), remaining)
        except TimeoutError:
            ticket.release()
            raise RequestTimeout(f"no model slot came free within the request deadline ({limit or 0:.0f} s); "
                                 "retry later") from None
        except BaseException:
            ticket.release()
            raise
        ticket.granted = time.monotonic()
        loop = asyncio.get_running_loop()
        lease = Lease(self, ticket, loop)
        if limit is not None:
            lease._timer = loop.call_later(max(0.0, limit - (time.monotonic() - ticket.admitted)), lease.expire)
        self._leases.add(lease)
        try:
            yield lease
        finally:
            lease.end()

    async def call(self, fn: Callable[..., T], *args, ticket: Ticket | None = None, deadline: bool = True) -> T:
        """One blocking model call under a lease (`deadline`: see `lease`)."""
        async with self.lease(ticket, deadline) as lease:
            return await lease.run(fn, *args)

    def _release_slot(self, lease: Lease) -> None:
        self._leases.discard(lease)
        if self._slot is not None:
            self._slot.release()

    def close(self) -> None:
        """Server shutdown: every live stream stops before its next token; threads are not waited for long."""
        for lease in list(self._leases):
            lease.stop.set()
        self.executor.shutdown(wait=False, cancel_futures=True)
