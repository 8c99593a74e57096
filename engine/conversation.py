"""A conversation as the engine reads it: typed turns, and what the latest question is.

Why here and not in the router: the question to search, the question to put in the prompt and whether a
turn is a follow-up are decisions about answering, made once, by the engine, for every caller.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from engine import lexical
from engine.citations import is_refusal, strip_markers
from engine.tools import ToolCall


@dataclass(frozen=True)
class Turn:
    role: str  # "system", "user", "assistant" or "tool" (OpenAI's "developer" arrives as "system")
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()  # an assistant turn that called tools
    tool_call_id: str | None = None  # a tool result answers this call


def user_turns(turns: Sequence[Turn]) -> list[int]:
    """Indices of the user turns that carry text."""
    return [i for i, t in enumerate(turns) if t.role == "user" and t.content.strip()]


def last_user_message(turns: Sequence[Turn]) -> str:
    users = user_turns(turns)
    return turns[users[-1]].content.strip() if users else ""


def search_query(turns: Sequence[Turn]) -> str:
    """The latest question as a standalone search query. A short follow-up ("and when does it start?")
    names nothing by itself, so the previous question and the answer it got are added: the answer holds
    the words of the segment it came from, which steers retrieval back to the moment being discussed."""
    users = user_turns(turns)
    if not users:
        return ""
    latest = turns[users[-1]].content.strip()
    if len(users) > 1 and is_follow_up(latest):
        prev = users[-2]
        answer = next((t.content for t in turns[prev + 1:users[-1]] if t.role == "assistant"), "")
        answer = "" if is_refusal(answer) else strip_markers(answer)
        return " ".join(x for x in (turns[prev].content.strip(), answer, latest) if x)
    return latest


def prompt_question(turns: Sequence[Turn]) -> str:
    """The latest question as the prompt states it: a follow-up says what it follows up on, since a small
    model reading "when is that mentioned?" next to four segments does not resolve "that" reliably."""
    users = [turns[i].content.strip() for i in user_turns(turns)]
    if not users:
        return ""
    if len(users) > 1 and is_follow_up(users[-1]):
        return f"{users[-1]} (follow-up to: {users[-2]})"
    return users[-1]


_OPENERS = ("and ", "but ", "also ", "so ", "then ", "what about ", "how about ")
_REFERRING = {"it", "its", "that", "those", "they", "them", "he", "she", "his", "her", "there", "one"}


def is_follow_up(question: str) -> bool:
    """Leans on the conversation: opens with a conjunction, or names almost nothing but a pronoun."""
    low = question.strip().lower()
    words = set(re.findall(r"[a-z']+", low))
    content = lexical.tokens(low)
    return low.startswith(_OPENERS) or len(content) <= 1 or (len(content) <= 3 and bool(words & _REFERRING))
