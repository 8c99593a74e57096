"""Recent prompts' model states, so a prompt that starts like an earlier one reads only what differs.

Why: llama.cpp keeps one sequence in its KV cache and llama-cpp-python reuses only the prefix still live
there, so once requests from several clients interleave every prompt is read whole again. Measured in the
soak (`scripts/soak.py`): a chat's prompt took 0.07 s to read under normal load and 1.66 s when dropped
streams and other clients ran between two of its requests, and each of those cost as much again, so a
normal chat waited ten times its usual time. With the states of recent prompts kept, a client retrying its
question, a stream asked again after a hang-up, a conversation's next turn and another question over the
same evidence resume from the longest prefix any of them shares, whatever ran in between.

A state is taken right after its prompt is read (before the answer), so a stream dropped mid-answer still
leaves its prompt. States live in anonymous memory maps within a byte budget, least recently used out first
and none over half the budget (one long conversation never pushes out every other client's state): memory
stays bounded and an evicted state goes back to the operating system at once, not into the heap.
This module keeps the bookkeeping; `engine.llama_states` moves the bytes in and out of llama.cpp.
"""

from __future__ import annotations

import logging
import mmap
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)

MIN_GAIN = 16  # tokens: restoring copies the whole state (milliseconds); fewer tokens are cheaper to read


@dataclass
class SavedPrompt:
    tokens: tuple[int, ...]
    state: mmap.mmap  # the sequence's KV cells as llama.cpp wrote them
    size: int


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


class PromptCache:
    """States of recently read prompts, keyed by their tokens, within `capacity_bytes`."""

    def __init__(self, capacity_bytes: int, *, min_gain: int = MIN_GAIN) -> None:
        self.capacity_bytes = capacity_bytes
        self.min_gain = min_gain
        self._saved: OrderedDict[tuple[int, ...], SavedPrompt] = OrderedDict()
        self._lock = threading.Lock()
        self._bytes = 0  # kept as states come and go: /metrics reads it from other threads
        self.hits = 0
        self.tokens_saved = 0  # prompt tokens not read again thanks to a restored state

    @property
    def nbytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._saved)

    def best(self, tokens: Sequence[int], live: int) -> tuple[SavedPrompt, int] | None:
        """The saved prompt sharing the longest prefix with `tokens`, when it beats the `live` prefix (what the
        model's KV cache already holds) by at least `min_gain` tokens; the shared length comes with it."""
        with self._lock:
            found, length = None, 0
            for saved in self._saved.values():
                n = common_prefix(saved.tokens, tokens)
                if n > length:
                    found, length = saved, n
            if found is None or length < live + self.min_gain:
                return None
            self._saved.move_to_end(found.tokens)
            self.hits += 1
            self.tokens_saved += length - live
            return found, length

    def longest(self, tokens: Sequence[int]) -> int:
        """The longest prefix of `tokens` a saved state holds (an estimate of the work saved; nothing moves)."""
        with self._lock:
            return max((common_prefix(saved.tokens, tokens) for saved in self._saved.values()), default=0)

    def put(self, tokens: Sequence[int], size: int, write: Callable[[mmap.mmap], int]) -> bool:
        """Keep the state of `tokens`: `write` fills a map of `size` bytes and returns the bytes written (0 on
        failure). A prompt already saved is only marked recent. A saved prompt that the new one shares all but a
        few tokens with (it extends it, or only the question differs) is replaced: it would be resumed from the
        new state at almost no cost, and one state a context keeps more contexts within the budget."""
        key = tuple(tokens)
        if not key or size <= 0 or size > self.capacity_bytes // 2:  # one long prompt never flushes all others
            return False
        with self._lock:
            if key in self._saved:
                self._saved.move_to_end(key)
                return True
        state = mmap.mmap(-1, size)
        try:
            written = write(state)
        except Exception:  # noqa: BLE001 - a cache: the answer goes on without it
            log.warning("could not save a prompt state", exc_info=True)
            written = 0
        if written <= 0:
            state.close()
            return False
        with self._lock:
            for old in [k for k in self._saved if len(k) - common_prefix(k, key) < self.min_gain]:
                self._drop(self._saved.pop(old))  # the new state serves its prompt as well
            self._saved[key] = SavedPrompt(key, state, written)
            self._bytes += written
            while self._bytes > self.capacity_bytes:
                self._drop(self._saved.popitem(last=False)[1])
        return True

    def discard(self, tokens: Sequence[int], counted: int = 0) -> None:
        """Forget the state of `tokens` (llama.cpp could not restore it), and take back the hit and the
        `counted` tokens `best` had counted as not read again."""
        with self._lock:
            saved = self._saved.pop(tuple(tokens), None)
            if saved is not None:
                self._drop(saved)
                self.hits -= 1
                self.tokens_saved -= counted

    def _drop(self, saved: SavedPrompt) -> None:
        saved.state.close()
        self._bytes -= saved.size

    def clear(self) -> None:
        with self._lock:
            for saved in self._saved.values():
                self._drop(saved)
            self._saved.clear()
