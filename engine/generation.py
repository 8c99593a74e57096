"""Text generation with a local GGUF model through llama-cpp-python (CPU or CUDA).

One model handle per process behind a lock: llama.cpp contexts are not re-entrant, and on a 2-core CPU
one request at a time is also the fastest schedule. llama-cpp-python keeps the previous prompt's tokens
and only evaluates the part after the longest common prefix, so the fixed system prompt is read once; the
states of recent prompts are kept too (`engine.prompt_cache`), so interleaved requests do not read each
other's prompts again.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from clipcite.errors import ContextLengthExceeded, InvalidRequest, ModelUnavailable, RequestTimeout
from engine.admission import current_stop
from engine.prompt_cache import PromptCache
from engine.schemas import fit_schema
from models.loading import Lazy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GenerationParams:
    max_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None
    stop: tuple[str, ...] = ()
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    response_format: dict[str, Any] | None = None
    grammar: str | None = None  # GBNF the reply must follow (the evidence-first answer format)


@dataclass
class Generation:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    timings: dict[str, float] = field(default_factory=dict)


@functools.lru_cache(maxsize=64)
def _grammar(text: str) -> Any:
    """A compiled GBNF grammar (the same few texts recur: the answer format for each line count)."""
    from llama_cpp import LlamaGrammar

    return LlamaGrammar.from_string(text, verbose=False)


class _Stopped(Exception):
    """Raised between two tokens when the lease's stop signal is set (deadline, shutdown, client gone)."""


@contextmanager
def _model_errors(n_ctx: int) -> Iterator[None]:
    """llama-cpp-python reports bad input as ValueError (prompt over the context, a grammar it cannot
    compile from a response_format schema): those are the client's to fix, so they become 400s here, once,
    for every caller (chat, streams, tools, summaries)."""
    try:
        yield
    except _Stopped as exc:
        raise RequestTimeout("generation stopped: the request ran past its deadline or the server is stopping"
                             ) from exc
    except ValueError as exc:
        msg = str(exc)
        if "context window" in msg or "exceed" in msg:
            raise ContextLengthExceeded(f"This model's maximum context length is {n_ctx} tokens: {msg}") from exc
        raise InvalidRequest(f"the model cannot run this request: {msg}") from exc


class TextGenerator(Protocol):
    """What answering needs from a chat model; `LlamaGenerator` is the real one, tests pass fakes."""

    n_ctx: int

    def count_tokens(self, text: str) -> int: ...
    def unread(self, messages: list[dict[str, Any]]) -> int | None: ...
    def chat(self, messages: list[dict[str, Any]], params: GenerationParams) -> Generation: ...
    def stream(self, messages: list[dict[str, Any]],
               params: GenerationParams) -> Generator[tuple[str, str | None], None, None]: ...


class LlamaGenerator:
    def __init__(self, model_path: Path, model_name: str, *, n_ctx: int = 4096, threads: int = 1,
                 n_gpu_layers: int = 0, seed: int = 0, threads_batch: int | None = None,
                 prompt_cache_bytes: int = 0) -> None:
        self.model_path = Path(model_path)
        self.model_name = model_name
        self.n_ctx = n_ctx
        self.threads = threads
        self.threads_batch = threads_batch or threads
        self.n_gpu_layers = n_gpu_layers
        self.seed = seed
        self.prompts = PromptCache(prompt_cache_bytes)  # recent prompts' states (engine.prompt_cache)
        self._llm = Lazy("chat", self._build, "pip install llama-cpp-python")
        self.lock = threading.Lock()  # held for a whole generation, streaming included
        self.load_seconds: float | None = None

    def _build(self):
        from engine.llama_states import CachingLlama

        if not self.model_path.is_file():
            raise ModelUnavailable(f"chat model file {self.model_path} is missing; see `clipcite models`")
        t0 = time.perf_counter()
        log.info("loading chat model %s (n_ctx=%d, threads=%d, prompt threads=%d, gpu_layers=%d)",
                 self.model_path.name, self.n_ctx, self.threads, self.threads_batch, self.n_gpu_layers)
        llm = CachingLlama(self.prompts, model_path=str(self.model_path), n_ctx=self.n_ctx, n_threads=self.threads,
                    n_threads_batch=self.threads_batch, n_gpu_layers=self.n_gpu_layers, seed=self.seed,
                    verbose=False)
        self.load_seconds = time.perf_counter() - t0
        return llm

    def load(self):
        return self._llm.get()

    def smoke(self) -> str:
        """Load the model and generate one token (a start-up check)."""
        llm = self.load()
        with self.lock, _model_errors(self.n_ctx):
            llm.create_completion("Hello", max_tokens=1, temperature=0.0)
        return f"{self.model_path} ({self.n_gpu_layers} GPU layers, {self.threads} thread(s))"

    def count_tokens(self, text: str) -> int:
        return len(self.load().tokenize(text.encode(), add_bos=False, special=True))

    def unread(self, messages: list[dict[str, Any]]) -> int | None:
        """The prompt tokens `messages` would have the model read now (see `CachingLlama.unread`)."""
        return self.load().unread(messages)

    def _kwargs(self, messages: list[dict[str, Any]], p: GenerationParams) -> dict[str, Any]:
        kw: dict[str, Any] = dict(messages=messages, max_tokens=p.max_tokens, temperature=p.temperature,
                                  top_p=p.top_p, stop=list(p.stop) or None, presence_penalty=p.presence_penalty,
                                  frequency_penalty=p.frequency_penalty)
        if p.seed is not None:
            kw["seed"] = p.seed
        if p.grammar:
            kw["grammar"] = _grammar(p.grammar)
        if p.response_format:
            fmt = p.response_format
            if isinstance(fmt.get("schema"), dict):  # the longest valid reply fits the reply's token budget
                fmt = {**fmt, "schema": fit_schema(fmt["schema"], p.max_tokens)}
            kw["response_format"] = fmt
        return kw

    def chat(self, messages: list[dict[str, Any]], params: GenerationParams) -> Generation:
        """The whole reply, read token by token like `stream` so that it stops between two tokens too."""
        t0 = time.perf_counter()
        parts: list[str] = []
        finish = "stop"
        for delta, reason in self.stream(messages, params):
            parts.append(delta)
            finish = reason or finish
        prompt_tokens, completion_tokens = self.load().usage
        return Generation(text="".join(parts), prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
                          finish_reason=finish, timings={"generate": time.perf_counter() - t0})

    def stream(self, messages: list[dict[str, Any]],
               params: GenerationParams) -> Generator[tuple[str, str | None], None, None]:
        """Yields (delta_text, finish_reason); the lock is held until the iterator is exhausted or closed.
        Generation ends before the next token once the lease's stop signal is set: checked here, between
        tokens, because an exception raised in a llama.cpp callback (a logits processor) is swallowed by
        ctypes and generation would run on to its token limit."""
        llm = self.load()
        stop = current_stop()
        with self.lock, _model_errors(self.n_ctx):
            for chunk in llm.create_chat_completion(stream=True, **self._kwargs(messages, params)):
                if stop is not None and stop.is_set():
                    raise _Stopped
                choice = chunk["choices"][0]
                delta = (choice.get("delta") or {}).get("content") or ""
                yield delta, choice.get("finish_reason")

    def close(self, wait_s: float = 30.0) -> None:
        """Frees the model once a generation in progress has ended (streams stop before their next token at
        shutdown; a whole-answer call runs to its end), so llama.cpp is never freed under a running thread."""
        got = self.lock.acquire(timeout=wait_s)
        if not got:
            log.warning("a generation still runs after %.0f s; leaving the model to process exit", wait_s)
            return
        try:
            self._close()
        finally:
            self.lock.release()

    def _close(self) -> None:
        llm = self._llm.clear()
        self.prompts.clear()
        if llm is not None:
            with contextlib.suppress(Exception):  # best effort at shutdown
                llm.close()
