"""How long each model took to load, recorded the first time it is used (models load lazily).

Kept process-wide because each component owns its own lazy loader; `/metrics` reads it. Loads are
rare (once per model per process), so a plain dict behind a lock is enough.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from typing import Iterator

log = logging.getLogger(__name__)
_lock = threading.Lock()
_seconds: dict[str, float] = {}


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
