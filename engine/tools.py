"""Function calling for OpenAI-style `tools` / `tool_choice` on any GGUF chat model.

The tools are described in the system prompt in the Hermes / Qwen2.5 format (`<tools>` JSON, replies as
`<tool_call>{"name": ..., "arguments": {...}}</tool_call>`), which Qwen2.5 models were trained on, and
parsed back from the text. When the caller forces a call (`tool_choice: "required"` or a named function)
the reply is constrained by a JSON-schema grammar instead, so the call is well-formed with any model.
Earlier tool calls and tool results in the conversation are rendered back into that same format.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

from engine import lexical
from engine.schemas import bounded


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text, as OpenAI sends it


@dataclass(frozen=True)
class ToolUse:
    """What the request asks: the tools on offer and `mode` auto | required | <function name>."""

    tools: tuple[ToolSpec, ...]
    mode: str = "auto"

    @property
    def forced(self) -> bool:
        return self.mode != "auto"


def tool_prompt(tools: tuple[ToolSpec, ...]) -> str:
    """Qwen2.5's own tool section, word for word: the model follows the format it was trained on."""
    lines = [json.dumps({"type": "function", "function": {"name": t.name, "description": t.description,
                                                          "parameters": t.parameters}}) for t in tools]
    return ("\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
            "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
            + "\n".join(lines) + "\n</tools>\n\nFor each function call, return a json object with function name "
            "and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n"
            '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>')


def _arguments_schema(spec: ToolSpec) -> dict[str, Any]:
    """The tool's parameters, strings and lists bounded: a forced call must end (as valid JSON) inside
    the request's max_tokens."""
    params = spec.parameters or {}
    return bounded(params, max_chars=120) if params.get("type") == "object" else {"type": "object"}


def forced_schema(use: ToolUse) -> dict[str, Any]:
    """JSON schema of one call: `{"name": ..., "arguments": {...}}` for the named tool or any tool."""
    tools = [t for t in use.tools if use.mode in ("required", t.name)]
    options = [{"type": "object", "properties": {"name": {"type": "string", "enum": [t.name]},
                                                 "arguments": _arguments_schema(t)},
                "required": ["name", "arguments"]} for t in tools]
    return options[0] if len(options) == 1 else {"anyOf": options}


def new_call(name: str, arguments: Any) -> ToolCall:
    args = arguments if isinstance(arguments, str) else json.dumps(arguments if arguments is not None else {})
    return ToolCall(id=f"call_{uuid.uuid4().hex[:24]}", name=name, arguments=args)


_CALL = re.compile(r"<tool_call>\s*(\{.*?\})\s*(?:</tool_call>|$)", re.S)
# Small models often drop the tags and write the call as bare or fenced JSON.
_BARE = re.compile(r"^\s*(?:```(?:json)?\s*)?(\{.*\})\s*(?:```)?\s*$", re.S)
_FENCED = re.compile(r"```(?:json)?\s*(\{.*?\})\s*```", re.S)


def parse_tool_calls(text: str, use: ToolUse) -> tuple[list[ToolCall], str]:
    """Tool calls in a reply, and the text left around them. Unknown names and bad JSON are text."""
    names = {t.name for t in use.tools}
    if use.forced:
        try:
            obj = json.loads(text)
        except json.JSONDecodeError:
            return [], text
        if isinstance(obj, dict) and obj.get("name") in names:
            return [new_call(obj["name"], obj.get("arguments"))], ""
        return [], text
    calls: list[ToolCall] = []
    blocks = list(_CALL.finditer(text)) or list(_FENCED.finditer(text)) or list(_BARE.finditer(text))
    for m in blocks:
        try:
            obj = json.loads(m.group(1))
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict) and obj.get("name") in names:
            calls.append(new_call(obj["name"], obj.get("arguments")))
    rest = "".join(text[a:b] for a, b in _gaps(text, [m.span() for m in blocks])).strip() if calls else text
    return calls, rest


def _gaps(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out, pos = [], 0
    for a, b in spans:
        out.append((pos, a))
        pos = b
    return out + [(pos, len(text))]


def plausible(call: ToolCall, request: str, use: ToolUse) -> bool:
    """Does the request name what the tool does (a shared term with its name or description)? Small
    models call tools for questions the videos answer; in `auto` mode such calls are dropped."""
    spec = next((t for t in use.tools if t.name == call.name), None)
    if spec is None:
        return False
    asked = set(lexical.tokens(request))
    offered = set(lexical.tokens(f"{spec.name.replace('_', ' ').replace('-', ' ')} {spec.description}"))
    return bool(asked & offered)


def render_turn(role: str, content: str, calls: tuple[ToolCall, ...] = ()) -> dict[str, str]:
    """An assistant tool-call turn or a tool result as a plain chat message the model can read."""
    if role == "tool":
        return {"role": "user", "content": f"<tool_response>\n{content}\n</tool_response>"}
    body = "\n".join("<tool_call>" + json.dumps({"name": c.name, "arguments": _loads(c.arguments)}) + "</tool_call>"
                     for c in calls)
    text = content.strip()
    return {"role": "assistant", "content": "\n".join(x for x in (text, body) if x)}


def _loads(arguments: Any) -> Any:
    if isinstance(arguments, str):
        try:
            return json.loads(arguments)
        except json.JSONDecodeError:
            return arguments
    return arguments
