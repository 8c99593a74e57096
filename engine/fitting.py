"""Fit a chat prompt into the model's context window before llama.cpp sees it.

llama.cpp refuses a prompt longer than `n_ctx - max_tokens` with a bare ValueError (a 500 to the client),
and a long conversation reaches that with short turns. What must fit, in order of priority: the system
prompt, the latest user turn with its question, any tool calls/results after it, and `max_tokens` for the
answer. Then the retrieved segments (they ground the answer; lowest-ranked dropped first) and then the
earlier conversation, newest first (oldest turns dropped first). Only when the latest turn alone cannot
fit is the request refused, with OpenAI's `context_length_exceeded` and the numbers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from clipcite.errors import ContextLengthExceeded

log = logging.getLogger(__name__)

# Chat-template tokens around each message (Qwen/ChatML: "<|im_start|>role\n" ... "<|im_end|>\n" is 5;
# Llama 3 headers are 4-5), plus the assistant header the generation starts from.
PER_MESSAGE_TOKENS = 8
REPLY_PRIMER_TOKENS = 8


@dataclass(frozen=True)
class Fitted:
    messages: list[dict[str, str]]
    kept_segments: int
    dropped_turns: int
    prompt_tokens: int  # estimate, template included


def fit_prompt(system: str, history: list[dict[str, str]], final: Callable[[int], str], n_segments: int,
               after: list[dict[str, str]], count: Callable[[str], int], n_ctx: int, max_tokens: int) -> Fitted:
    """`final(k)` renders the latest user turn with the first k segments; `count` counts a text's tokens."""
    def cost(text: str) -> int:
        return count(text) + PER_MESSAGE_TOKENS

    budget = n_ctx - max_tokens - REPLY_PRIMER_TOKENS
    fixed = cost(system) + sum(cost(m["content"]) for m in after)
    bare = cost(final(0))
    if fixed + bare > budget:
        raise ContextLengthExceeded(
            f"This model's maximum context length is {n_ctx} tokens. The request needs {fixed + bare} prompt tokens "
            f"for its latest turn alone, plus max_tokens={max_tokens} for the answer. Shorten the message or "
            f"lower max_tokens.")
    k, body = n_segments, cost(final(n_segments)) if n_segments else bare
    while k > 0 and fixed + body > budget:
        k -= 1
        body = cost(final(k))
    used = fixed + body
    kept: list[dict[str, str]] = []
    for m in reversed(history):
        c = cost(m["content"])
        if used + c > budget:
            break
        kept.append(m)
        used += c
    kept.reverse()
    while kept and kept[0]["role"] != "user":  # a conversation resumes at a user turn, not mid-exchange
        kept.pop(0)
    dropped = len(history) - len(kept)
    if dropped or k < n_segments:
        log.info("prompt fitted to %d tokens: dropped %d earlier turns and %d of %d segments", n_ctx - max_tokens,
                 dropped, n_segments - k, n_segments)
    messages = [{"role": "system", "content": system}, *kept, {"role": "user", "content": final(k)}, *after]
    return Fitted(messages=messages, kept_segments=k, dropped_turns=dropped, prompt_tokens=used)
