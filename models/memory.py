"""Freed heap goes back to the operating system (glibc), so a long-running process's RSS follows its load.

Why: glibc keeps freed memory in its arenas, one per thread that allocated concurrently (up to 8 per core).
A server whose thread pools decode video, run ONNX Runtime and CTranslate2 and parse request bodies kept
what its busiest moments had freed: +10 % RSS over a 10-minute soak with nothing leaking. The arena count
is capped once at start-up and free heap is trimmed after each ingest job and periodically. On other C
libraries (musl, macOS) both do nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

M_ARENA_MAX = -8  # glibc's mallopt parameter number
ARENAS = 4  # enough for the request threads, the model thread and the ingest stages not to contend


@functools.cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None


def cap_arenas(arenas: int = ARENAS) -> bool:
    """Limit the arenas created from now on (call before the thread pools start); False where unsupported."""
    libc = _libc()
    return bool(libc and libc.mallopt(M_ARENA_MAX, arenas))


def trim() -> bool:
    """Return free heap pages to the system; True when some memory was released."""
    libc = _libc()
    return bool(libc and libc.malloc_trim(0))
