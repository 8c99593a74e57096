"""A llama-cpp-python model that resumes each prompt from the longest saved prefix (`engine.prompt_cache`
says why). Imported only where the chat model is built, so the engine imports without llama-cpp-python.

llama-cpp-python's own `set_cache` is not used: its states carry a copy of the n_batch x n_vocab logits table
(300 MB for Qwen2.5's vocabulary) and are taken only after a whole answer, so a dropped stream leaves
nothing. Here a state is sequence 0's KV cells alone (llama.cpp's per-sequence state API), taken as soon as
the prompt has been read.
"""

from __future__ import annotations

import ctypes
import logging
import mmap
from collections.abc import Generator, Sequence
from typing import Any, cast

import llama_cpp
from llama_cpp import Llama
from llama_cpp.llama_chat_format import Jinja2ChatFormatter

from engine.prompt_cache import PromptCache, common_prefix

log = logging.getLogger(__name__)

SEQ = 0  # llama-cpp-python decodes everything as sequence 0


class CachingLlama(Llama):
    def __init__(self, prompts: PromptCache, **kw: Any) -> None:
        super().__init__(**kw)
        self.prompts = prompts
        self.usage = (0, 0)  # the last generation's prompt and generated tokens (streams carry no usage)
        template = self.metadata.get("tokenizer.chat_template")
        eos, bos = self.token_eos(), self.token_bos()
        self._formatter = None if self.chat_format != "chat_template.default" or not template else \
            Jinja2ChatFormatter(template=template, eos_token=self._model.token_get_text(eos) if eos != -1 else "",
                                bos_token=self._model.token_get_text(bos) if bos != -1 else "")

    def generate(self, tokens: Sequence[int], *args: Any, **kw: Any) -> Generator[int, Any, None]:
        """`Llama.generate`, first moved to the best saved prefix of `tokens`; the prompt's state is saved once
        it has been read (at the first sampled token)."""
        tokens = list(tokens)
        self._resume(tokens)
        self.usage = (len(tokens), 0)
        inner = super().generate(tokens, *args, **kw)
        try:
            try:
                token = next(inner)
            except StopIteration:
                return
            self._save()
            while True:
                if not llama_cpp.llama_vocab_is_eog(self._model.vocab, token):  # the end is no token of the reply
                    self.usage = (self.usage[0], self.usage[1] + 1)
                sent = yield token
                try:
                    token = inner.send(sent)
                except StopIteration:
                    return
        finally:
            inner.close()

    def unread(self, messages: list[dict[str, Any]]) -> int | None:
        """How many tokens of the prompt for `messages` the model would read, given the saved states; None
        when the model's chat template is unknown. The live sequence is not counted: by the time a waiting
        request is served others have replaced it (counting it, a 3,500-token conversation that had just run
        looked free, was served next, and read its whole prompt again each time)."""
        if self._formatter is None:
            return None
        try:  # a template may refuse the messages (roles must alternate): the generation reports that, as a 400
            result = self._formatter(messages=cast(Any, messages))  # OpenAI-shaped dicts, typed loosely here
        except Exception:  # noqa: BLE001 - an estimate only
            log.debug("chat template refused the messages; cost left to the fitted size", exc_info=True)
            return None
        tokens = self.tokenize(result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True)
        return len(tokens) - self.prompts.longest(tokens)

    def _resume(self, tokens: list[int]) -> None:
        live = common_prefix(self.input_ids[: self.n_tokens].tolist(), tokens)
        found = self.prompts.best(tokens, live)
        if found is None:
            return
        saved, shared = found
        buf = (ctypes.c_uint8 * saved.size).from_buffer(saved.state)
        try:
            self._ctx.kv_cache_seq_rm(SEQ, 0, -1)
            ok = llama_cpp.llama_state_seq_set_data(self._ctx.ctx, buf, saved.size, SEQ) > 0
        finally:
            del buf  # the map cannot be closed (evicted) while a ctypes view of it exists
        if not ok:  # the sequence is empty now: the prompt is read whole, and the state is not offered again
            log.warning("a saved prompt state could not be restored; reading the prompt whole")
            self.prompts.discard(saved.tokens, counted=shared - live)
            self.n_tokens = 0
            return
        n = len(saved.tokens)
        self.input_ids[:n] = saved.tokens
        self.n_tokens = n
        self._requires_eval = True  # Llama.generate trims to the shared prefix and reads the rest
        log.debug("prompt resumed at token %d of %d", shared, len(tokens))

    def _save(self) -> None:
        ctx = self._ctx.ctx
        size = int(llama_cpp.llama_state_seq_get_size(ctx, SEQ))

        def write(state: mmap.mmap) -> int:
            buf = (ctypes.c_uint8 * size).from_buffer(state)
            try:
                return int(llama_cpp.llama_state_seq_get_data(ctx, buf, size, SEQ))
            finally:
                del buf

        try:  # a cache: the answer goes on without it (no memory left for a map, say)
            self.prompts.put(self.input_ids[: self.n_tokens].tolist(), size, write)
        except Exception:  # noqa: BLE001
            log.warning("could not keep a prompt state", exc_info=True)
