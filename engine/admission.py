"""Bounded admission for model work: one model instance serves requests in turn; past the bound a
request is refused at once with `Overloaded` (503 + Retry-After) instead of queueing without limit."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

from clipcite.errors import Overloaded


class AdmissionGate:
    def __init__(self, max_in_flight: int, retry_after: int = 5) -> None:
        self.max_in_flight = max_in_flight
        self.retry_after = retry_after
        self._in_flight = 0
        self._lock = threading.Lock()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def enter(self) -> None:
        with self._lock:
            if self._in_flight >= self.max_in_flight:
                raise Overloaded(f"{self._in_flight} chat requests are already running or waiting; retry shortly",
                                 retry_after=self.retry_after)
            self._in_flight += 1

    def leave(self) -> None:
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)

    @contextmanager
    def admit(self) -> Iterator[None]:
        self.enter()
        try:
            yield
        finally:
            self.leave()
