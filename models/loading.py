"""Lazy model loading (`Lazy`), and how long each model took to load, recorded the first time it is used.

Kept process-wide because each component owns its own lazy loader; `/metrics` reads it. Loads are
rare (once per model per process), so a plain dict behind a lock is enough.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Generic, TypeVar

from clipcite.errors import ModelUnavailable

log = logging.getLogger(__name__)
_lock = threading.Lock()
_seconds: dict[str, float] = {}
T = TypeVar("T")


@contextmanager
def timed_load(role: str) -> Iterator[None]:
    """Wrap a model's construction: records its wall time under `role` (speech, embedding, chat, ...)."""
    t0 = time.perf_counter()
    yield
    elapsed = time.perf_counter() - t0
    with _lock:
        _seconds[role] = elapsed
    log.info("%s model loaded in %.2fs", role, elapsed)


def load_seconds() -> dict[str, float]:
    with _lock:
        return dict(_seconds)


class Lazy(Generic[T]):
    """One model, built on the first `get()`, once, under a lock, and timed for `/metrics`.

    Why one helper: every heavy component loads lazily (start-up stays fast, unused stages cost nothing),
    and each hand-written loader had its own lock, its own timing and its own idea of what a missing
    package is. Here a missing package or file is always `ModelUnavailable` naming the fix, which the API
    maps to a 503 and an ingest job records as its failure reason."""

    def __init__(self, role: str, build: Callable[[], T], fix: str = "") -> None:
        self.role = role
        self._build = build
        self._fix = fix
        self._value: T | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._value is not None

    def get(self) -> T:
        if self._value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._load()
        return self._value

    def _load(self) -> T:
        try:
            with timed_load(self.role):
                return self._build()
        except ImportError as exc:
            raise ModelUnavailable(f"the {self.role} model needs the package {exc.name or exc}"
                                   + (f": {self._fix}" if self._fix else "")) from exc
        except OSError as exc:  # FileNotFoundError and unreadable weights
            raise ModelUnavailable(f"the {self.role} model could not be loaded: {exc}"
                                   + (f" ({self._fix})" if self._fix else "")) from exc

    def clear(self) -> T | None:
        """Forget the model (it is rebuilt on the next `get`); returns it so the caller can free it."""
        with self._lock:
            value, self._value = self._value, None
        return value


def require_file(path: Path, what: str) -> Path:
    """A user-supplied model path that must exist, checked at start-up with the setting to fix."""
    if not Path(path).exists():
        raise ModelUnavailable(f"{what} not found: {path}")
    return Path(path)
