"""JSON schemas for grammar-constrained generation: bounded so that a reply always ends inside its token
budget (a small model repeats list items or writes on until it runs out), and the least valid instance
for when a reply cannot be used."""

from __future__ import annotations

from typing import Any

MAX_ITEMS = 8  # per array the schema leaves unbounded: a small model repeats items until it runs out
MAX_CHARS = 300  # per string the schema leaves unbounded


def bounded(schema: dict[str, Any], max_chars: int = MAX_CHARS) -> dict[str, Any]:
    """The schema with size limits where it has none, so a reply always ends (valid) inside max_tokens."""
    out = dict(schema)
    kind = out.get("type")
    if kind == "array":
        out.setdefault("maxItems", MAX_ITEMS)
        if isinstance(out.get("items"), dict):
            out["items"] = bounded(out["items"], max_chars)
    elif kind == "string" and "enum" not in out and "pattern" not in out and "format" not in out:
        out.setdefault("maxLength", max_chars)
    if isinstance(out.get("properties"), dict):
        out["properties"] = {k: bounded(v, max_chars) if isinstance(v, dict) else v
                             for k, v in out["properties"].items()}
    return out


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
