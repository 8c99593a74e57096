"""OpenAI's `tool_choice` rules, shared by chat completions and the Responses API."""

from __future__ import annotations

from typing import Any

from clipcite.errors import InvalidRequest
from engine.tools import ToolSpec, ToolUse


def tool_use(specs: tuple[ToolSpec, ...], choice: str | dict[str, Any] | None) -> ToolUse | None:
    """OpenAI's rules, for chat and responses: no tools or tool_choice "none" -> plain answer; default
    "auto"; a named function (`{"type": "function", "function": {"name"}}`, or the Responses API's flat
    `{"type": "function", "name"}`) must be one of the tools."""
    if not specs:
        if choice not in (None, "none", "auto"):
            raise InvalidRequest("tool_choice needs tools", param="tool_choice")
        return None
    if choice == "none":
        return None
    if isinstance(choice, dict):
        name = choice.get("name") or (choice.get("function") or {}).get("name")
        if choice.get("type") != "function" or name not in {t.name for t in specs}:
            raise InvalidRequest('tool_choice must name one of the tools: {"type": "function", "function": '
                                 '{"name": ...}} (Responses: {"type": "function", "name": ...})', param="tool_choice")
        return ToolUse(specs, name)
    return ToolUse(specs, choice or "auto")
