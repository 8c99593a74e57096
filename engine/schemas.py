"""JSON schemas for grammar-constrained generation: bounded so that a reply always ends inside its token
budget (a small model repeats list items or writes on until it runs out), and the least valid instance
for when a reply cannot be used.

Why budgets: llama.cpp's grammar keeps a reply valid token by token, but a reply cut at `max_tokens` is
unterminated JSON. A strict schema `{"limit_kmh": integer, "vehicle_types": [string]}` came back as 937
characters of unfinished list with the default 256 tokens. `fit_schema` bounds every open-ended array
and string so that the longest reply the grammar allows fits the reply's own token budget; a schema whose
own bounds cannot fit keeps them (then the reply may be cut, and says so with `finish_reason: length`).
"""

from __future__ import annotations

import json
from typing import Any

MAX_ITEMS = 8  # per array the schema leaves unbounded: a small model repeats items until it runs out
MAX_CHARS = 300  # per string the schema leaves unbounded

# Worst-case tokens of the grammar's scalars: llama-cpp-python's JSON grammar allows up to 16 integer
# digits (Qwen and Llama tokenize digits one by one), a sign, and one optional space after each value.
_SCALAR_TOKENS = {"integer": 19, "number": 55, "boolean": 6, "null": 5}
_FORMAT_CHARS = 40  # a formatted string (date, uuid, ...) is short whatever the model does
_UNBOUNDED = 10 ** 9

# Bounds tried for what the schema leaves open, most generous first: (items per array, chars per string).
_LADDER = [(items, chars) for items in (8, 6, 4, 3, 2, 1) for chars in (300, 160, 80, 40, 20)]


def bounded(schema: dict[str, Any], max_chars: int = MAX_CHARS, max_items: int = MAX_ITEMS) -> dict[str, Any]:
    """The schema with size limits where it has none (objects closed to properties it does not name)."""
    out = dict(schema)
    kind = out.get("type")
    if kind == "array":
        out.setdefault("maxItems", max_items)
        if isinstance(out.get("items"), dict):
            out["items"] = bounded(out["items"], max_chars, max_items)
    elif kind == "string" and "enum" not in out and "pattern" not in out and "format" not in out:
        out.setdefault("maxLength", max_chars)
    if isinstance(out.get("properties"), dict):
        out["properties"] = {k: bounded(v, max_chars, max_items) if isinstance(v, dict) else v
                             for k, v in out["properties"].items()}
        out.setdefault("additionalProperties", False)
    for key in ("anyOf", "oneOf"):
        if isinstance(out.get(key), list):
            out[key] = [bounded(v, max_chars, max_items) if isinstance(v, dict) else v for v in out[key]]
    return out


def worst_tokens(schema: Any) -> int:
    """An upper bound on the tokens of the longest value the grammar allows (one token per character of a
    string, a key or punctuation; `_UNBOUNDED` where the schema sets no limit)."""
    if not isinstance(schema, dict):
        return _UNBOUNDED
    for key in ("enum", "const"):
        if key in schema:
            values = schema[key] if key == "enum" else [schema[key]]
            return max((len(json.dumps(v)) + 1 for v in values), default=1)
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list):
            return max((worst_tokens(v) for v in schema[key]), default=_UNBOUNDED)
    kind = schema.get("type")
    if isinstance(kind, list):
        return max((worst_tokens({**schema, "type": k}) for k in kind), default=_UNBOUNDED)
    if kind in _SCALAR_TOKENS:
        return _SCALAR_TOKENS[kind]
    if kind == "string":
        if "maxLength" in schema:
            return int(schema["maxLength"]) + 3
        return _FORMAT_CHARS + 3 if "format" in schema else _UNBOUNDED
    if kind == "array":
        if "maxItems" not in schema:
            return _UNBOUNDED
        return 3 + int(schema["maxItems"]) * (worst_tokens(schema.get("items", {})) + 2)
    if kind == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        if schema.get("additionalProperties", True) is not False:
            return _UNBOUNDED
        return 3 + sum(len(json.dumps(k)) + 3 + worst_tokens(v) for k, v in props.items())
    return _UNBOUNDED


def fit_schema(schema: dict[str, Any], max_tokens: int) -> dict[str, Any]:
    """`bounded` with the most generous limits whose longest reply fits `max_tokens` (a few tokens kept
    for the end of the reply); the tightest ones when none fits, which is all the schema's own bounds
    allow."""
    budget = max_tokens - 4
    candidate = schema
    for items, chars in _LADDER:
        candidate = bounded(schema, max_chars=chars, max_items=items)
        if worst_tokens(candidate) <= budget:
            return candidate
    return candidate


def empty_instance(schema: dict[str, Any]) -> Any:
    """The least valid value of a schema (required properties only, each empty): what a segment that says
    nothing of the kind yields when the model's reply could not be used."""
    kind = schema.get("type")
    if "enum" in schema and schema["enum"]:
        return schema["enum"][0]
    if kind == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        return {k: empty_instance(props.get(k) or {}) for k in schema.get("required") or []}
    return {"array": [], "string": "", "integer": 0, "number": 0, "boolean": False, "null": None}.get(
        kind if isinstance(kind, str) else "null")
