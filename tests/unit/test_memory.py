"""Heap trimming is safe to call anywhere, any number of times, and reports whether it could act."""

import sys

from models import memory


def test_trim_and_arena_cap_run_on_glibc_and_are_no_ops_elsewhere(monkeypatch):
    if sys.platform.startswith("linux") and memory._libc() is not None:
        assert memory.cap_arenas() is True
        blocks = [bytearray(1 << 20) for _ in range(64)]  # 64 MB freed just before the trim
        del blocks
        assert isinstance(memory.trim(), bool)
    monkeypatch.setattr(memory, "_libc", lambda: None)
    assert memory.cap_arenas() is False and memory.trim() is False
