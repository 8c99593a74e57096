"""The model lease releases admission and slot on every exit path: normal end, exception, reader gone,
cancellation, shutdown, and a stream whose body never started."""

import asyncio
import threading
import time

import pytest

from clipcite.errors import Overloaded
from engine.admission import ModelAccess


def _run(coro):
    return asyncio.run(asyncio.wait_for(coro, 10))


async def _idle(access: ModelAccess, timeout: float = 5.0) -> None:
    """Wait until no lease holds the slot and nothing is admitted (threads wind down on their own)."""
    deadline = time.monotonic() + timeout
    while access.busy or access.in_flight:
        assert time.monotonic() < deadline, f"still held: busy={access.busy} in_flight={access.in_flight}"
        await asyncio.sleep(0.01)


def test_admission_refuses_past_the_bound_and_recovers():
    access = ModelAccess(2, retry_after=3)
    a, b = access.admit(), access.admit()
    with pytest.raises(Overloaded) as err:
        access.admit()
    assert err.value.retry_after == 3 and err.value.status_code == 503
    a.release()
    a.release()  # idempotent: a second exit path must not free someone else's place
    assert access.in_flight == 1
    b.release()
    assert access.in_flight == 0


def test_call_returns_and_releases():
    access = ModelAccess(2)

    async def main():
        assert await access.call(lambda x: x * 2, 21) == 42
        await _idle(access)

    _run(main())


def test_exception_in_the_model_call_releases():
    access = ModelAccess(2)

    def boom():
        raise ValueError("bad")

    async def main():
        with pytest.raises(ValueError):
            await access.call(boom)
        await _idle(access)
        assert await access.call(lambda: "next") == "next"

    _run(main())


def test_cancelled_caller_keeps_the_slot_until_its_thread_ends():
    """A thread cannot be killed: the slot stays taken while it runs (no second generation beside it), and
    is released as soon as it finishes, without anyone awaiting it."""
    access = ModelAccess(3)
    gate = threading.Event()

    async def main():
        task = asyncio.create_task(access.call(gate.wait, 5))
        await asyncio.sleep(0.05)
        assert access.busy == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert access.busy == 1
        gate.set()
        await _idle(access)
        assert await access.call(lambda: 1) == 1

    _run(main())


def _tokens(n: int, started: threading.Event | None = None, closed: list | None = None, delay: float = 0.01):
    try:
        for i in range(n):
            if started is not None:
                started.set()
            time.sleep(delay)
            yield f"t{i}"
    finally:
        if closed is not None:
            closed.append(threading.current_thread().name)


def test_stream_runs_to_the_end_and_releases():
    access = ModelAccess(2)
    closed: list = []

    async def main():
        async with access.lease() as lease:
            got = [t async for t in lease.iterate(lambda: _tokens(5, closed=closed))]
        assert got == [f"t{i}" for i in range(5)]
        await _idle(access)

    _run(main())
    assert closed and closed[0].startswith("model")  # closed in the thread that ran it


def test_reader_that_stops_early_stops_the_generation_and_releases():
    access = ModelAccess(2)
    closed: list = []

    async def main():
        async with access.lease() as lease:
            async for t in lease.iterate(lambda: _tokens(10_000, closed=closed)):
                if t == "t2":
                    break
        await _idle(access)
        assert closed, "the generator was not closed"
        assert await access.call(lambda: "served") == "served"

    _run(main())


def test_error_inside_the_stream_reaches_the_reader_and_releases():
    access = ModelAccess(2)

    def failing():
        yield "a"
        raise RuntimeError("model broke")

    async def main():
        got = []
        with pytest.raises(RuntimeError, match="model broke"):
            async with access.lease() as lease:
                async for t in lease.iterate(failing):
                    got.append(t)
        assert got == ["a"]
        await _idle(access)

    _run(main())


def test_cancelled_stream_reader_releases():
    """What a client disconnect does to the response task: cancellation at an await inside the stream."""
    access = ModelAccess(2)
    started = threading.Event()

    async def reader():
        async with access.lease() as lease:
            async for _ in lease.iterate(lambda: _tokens(10_000, started=started)):
                pass

    async def main():
        task = asyncio.create_task(reader())
        while not started.is_set():
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await _idle(access)
        assert await access.call(lambda: "served") == "served"

    _run(main())


def test_waiters_are_served_in_turn_and_cancelled_waiters_give_back_their_place():
    access = ModelAccess(5)
    gate = threading.Event()

    async def main():
        first = asyncio.create_task(access.call(gate.wait, 5))
        await asyncio.sleep(0.05)
        waiting = asyncio.create_task(access.call(lambda: "second"))
        await asyncio.sleep(0.05)
        assert access.in_flight == 2 and access.busy == 1
        waiting.cancel()  # gave up while waiting for the slot
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert access.in_flight == 1
        gate.set()
        assert await first is True
        await _idle(access)

    _run(main())


def test_shutdown_stops_live_streams():
    access = ModelAccess(2)
    started = threading.Event()
    closed: list = []

    async def main():
        async def reader():
            async with access.lease() as lease:
                return [t async for t in lease.iterate(lambda: _tokens(10_000, started=started, closed=closed))]

        task = asyncio.create_task(reader())
        while not started.is_set():
            await asyncio.sleep(0.01)
        access.close()
        got = await task
        assert len(got) < 10_000  # stopped early (possibly before its first token)
        await _idle(access)

    _run(main())
    assert closed


def test_unused_ticket_released_by_its_owner():
    """A stream whose body never ran: its response releases the ticket; the bound is whole again."""
    access = ModelAccess(1)
    ticket = access.admit()
    with pytest.raises(Overloaded):
        access.admit()
    ticket.release()
    access.admit().release()
    assert access.in_flight == 0


def test_the_cheapest_waiter_gets_the_model_next_and_waiting_ages_a_costly_one():
    access = ModelAccess(8)
    gate = threading.Event()
    order: list[str] = []

    async def main():
        running = asyncio.create_task(access.call(gate.wait, 5))
        await asyncio.sleep(0.05)
        tasks = []
        for name, cost in (("long history", 4000), ("question", 600), ("other question", 700)):
            tasks.append(asyncio.create_task(access.call(order.append, name, ticket=access.admit(cost))))
            await asyncio.sleep(0.02)
        gate.set()
        await asyncio.gather(running, *tasks)
        assert order == ["question", "other question", "long history"]

        # A costly request that has waited long enough goes before a cheap one that just arrived.
        gate.clear()
        order.clear()
        running = asyncio.create_task(access.call(gate.wait, 5))
        await asyncio.sleep(0.05)
        old = access.admit(1000)
        old.admitted -= 30.0  # as if it had waited 30 s: 1500 tokens of aging
        tasks = [asyncio.create_task(access.call(order.append, "waited", ticket=old))]
        await asyncio.sleep(0.02)
        tasks.append(asyncio.create_task(access.call(order.append, "fresh", ticket=access.admit(100))))
        await asyncio.sleep(0.02)
        gate.set()
        await asyncio.gather(running, *tasks)
        assert order == ["waited", "fresh"]
        await _idle(access)

    _run(main())


def test_a_waiter_cancelled_as_it_is_handed_the_slot_passes_it_on():
    from engine.admission import SlotQueue

    async def main():
        q = SlotQueue(1)
        await q.acquire(0, 0)
        a = asyncio.create_task(q.acquire(10, 1))
        b = asyncio.create_task(q.acquire(20, 2))
        await asyncio.sleep(0.01)
        q.release()  # handed to a ...
        a.cancel()  # ... which is cancelled before it runs
        with pytest.raises(asyncio.CancelledError):
            await a
        await asyncio.wait_for(b, 1)  # b got the slot a passed on
        q.release()
        assert q.free == 1 and q.waiting == 0

    _run(main())


def test_a_client_that_abandoned_its_answers_waits_behind_readers_and_earns_its_place_back():
    from engine.client_standing import ABANDONED_COST, ClientStanding

    standing = ClientStanding(max_clients=2)
    for _ in range(8):
        standing.record("key:quitter", abandoned=True)
    standing.record("key:reader", abandoned=False)
    assert standing.penalty("key:reader") == 0.0
    assert 0.9 * ABANDONED_COST < standing.penalty("key:quitter") <= ABANDONED_COST
    for _ in range(8):  # reading answers again brings the client back
        standing.record("key:quitter", abandoned=False)
    assert standing.penalty("key:quitter") < 0.1 * ABANDONED_COST
    standing.record("key:third", abandoned=True)  # bounded: the least recently seen client is forgotten
    assert standing.share("key:reader") == 0.0 and standing.share("key:third") > 0
    standing.record("", abandoned=True)  # background work: no one's
    assert standing.answers == {"read": 9, "abandoned": 9} and standing.penalty("") == 0.0

    access = ModelAccess(8)
    gate = threading.Event()
    order: list[str] = []

    async def main():
        # The quitter's answer reaches the model and its reader walks away from it.
        quit_ticket = access.admit(600, client="key:quitter")
        async with access.lease(quit_ticket):
            quit_ticket.abandon()
        # A stream's lease may end before the stream does: its reader's leaving is known only at the end.
        streamed = access.admit(600, client="key:streamer")
        streamed.streamed = True
        async with access.lease(streamed):
            pass
        await _idle(access)  # the lease released the ticket; nothing is recorded yet
        assert access.standing.answers == {"read": 0, "abandoned": 1}
        streamed.settle(ended=False)  # the body never reached its last event
        assert access.standing.answers == {"read": 0, "abandoned": 2} and access.standing.share("key:streamer") > 0
        unserved = access.admit(600, client="key:never-served")
        unserved.release()  # refused before the model worked for it: no standing either way
        assert access.standing.answers == {"read": 0, "abandoned": 2}
        assert access.standing.share("key:never-served") == 0.0
        running = asyncio.create_task(access.call(gate.wait, 5))
        await asyncio.sleep(0.05)
        quitter, reader = access.admit(600, client="key:quitter"), access.admit(700, client="key:reader")
        tasks = [asyncio.create_task(access.call(order.append, "quitter", ticket=quitter))]
        await asyncio.sleep(0.02)
        tasks.append(asyncio.create_task(access.call(order.append, "reader", ticket=reader)))
        await asyncio.sleep(0.02)
        gate.set()
        await asyncio.gather(running, *tasks)
        assert order == ["reader", "quitter"]  # the cheaper, earlier request of the quitter waited
        await _idle(access)

    _run(main())
