"""Cloudglue filter language -> a neutral condition tree that every store backend executes natively.

Why a neutral tree: the embedded store (qdrant-edge) and the server store (qdrant-client) spell their
filter classes differently; translating the wire filter once keeps the semantics in one place and lets
the congruence test compare backends on identical input.

Value typing: the wire carries every value as text. Numbers compare as numbers through a numeric mirror
of the payload (`_num.<key>`, written at upsert for every leaf that parses as a number, booleans as
1.0 / 0.0), so `year LessThan "2024"` works whether the user stored `2024` or `"2024"`.

Like (case-insensitive, `%` any run, `_` one character) runs as substring conditions on a text mirror
(`_lc.<key>`: every string leaf lower-cased between start/end sentinels), so `YO%` is the substring
"<start>yo" and `%.mp4` is ".mp4<end>". Exact for prefix, suffix, infix, prefix-and-suffix and whole-value
patterns; a pattern with several interior pieces requires each piece but not their order, and `_`
matches a run of any length (Qdrant has no pattern match; its substring match is the closest native
condition, and filters never post-filter in Python).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from clipcite.errors import InvalidRequest

OPERATORS = ("Equal", "NotEqual", "LessThan", "GreaterThan", "In", "ContainsAny", "ContainsAll", "Like")
FILE_PATHS = {"bytes": "file_info.bytes", "filename": "file_info.filename", "uri": "file_info.uri",
              "created_at": "file_info.created_at", "id": "file_id"}
VIDEO_INFO_PATHS = ("duration_seconds", "has_audio", "language")
TAG_OPERATORS = ("Equal", "NotEqual", "In", "ContainsAny", "ContainsAll")
NUM_PREFIX = "_num"
TEXT_PREFIX = "_lc"
TEXT_START, TEXT_END = "\x02", "\x03"  # sentinels around mirrored text: anchor Like's prefix and suffix
MIRRORED = ("metadata", "segment_metadata", "video_info", "file_info")


@dataclass(frozen=True)
class Match:
    """key equals one of `values` (any of them; arrays in the payload match if any element does)."""

    key: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Range:
    key: str
    gt: float | None = None
    lt: float | None = None
    gte: float | None = None
    lte: float | None = None


@dataclass(frozen=True)
class Substring:
    key: str
    text: str


Leaf = Match | Range | Substring


@dataclass
class Group:
    """must: all; should: at least one; must_not: none."""

    must: list[Node] = field(default_factory=list)
    should: list[Node] = field(default_factory=list)
    must_not: list[Node] = field(default_factory=list)

    def is_empty(self) -> bool:
        return not (self.must or self.should or self.must_not)


Node = Leaf | Group


# --- user keys in the store's field paths ---------------------------------------------------------------

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_BAD_KEY_CHARS = re.compile(r'["\\.\x00-\x1f\x7f]')
MAX_KEY_CHARS = 200


def key_problem(key: Any) -> str | None:
    """Why a user's metadata key or tag label cannot be a filter path, or None when it can. Spaces, quotes
    ('), brackets and any script are fine (quoted in the store's field paths); a dot is the filter path's
    nesting, and a double quote, backslash or control character cannot be written in a field path."""
    if not isinstance(key, str) or not key.strip():
        return "an empty key"
    if key != key.strip():
        return "a key with spaces around it (a filter path part is read without them)"
    if len(key) > MAX_KEY_CHARS:
        return f"a key longer than {MAX_KEY_CHARS} characters"
    if bad := _BAD_KEY_CHARS.search(key):
        return f"a key holding {bad.group()!r} (dots nest filter paths; double quotes, backslashes and control " \
               "characters cannot be addressed)"
    return None


def check_keys(value: Any, param: str) -> None:
    """Every key of a metadata object, at every depth, can be filtered on; else a 400 naming the key."""
    if isinstance(value, dict):
        for k, v in value.items():
            if (problem := key_problem(k)) is not None:
                raise InvalidRequest(f"metadata key {k!r} is not allowed: {problem}", param=f"{param}.{k}")
            check_keys(v, f"{param}.{k}")
    elif isinstance(value, list):
        for v in value:
            check_keys(v, param)


def field_path(root: str, *keys: str) -> str:
    """The store's field path of a user key under a fixed root (`metadata."my key"`); keys are checked."""
    return ".".join([root, *(k if _PLAIN_KEY.match(k) else f'"{k}"' for k in keys)])


def as_number(text: str) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if value == value and value not in (float("inf"), float("-inf")) else None


def _as_bool(text: str) -> bool | None:
    low = str(text).strip().lower()
    return True if low == "true" else False if low == "false" else None


_INT64 = 2 ** 63


def _typed_variants(text: str) -> tuple[Any, ...]:
    """The payload may hold "2024", 2024, 2024.0 or True for the same wire text: match each spelling. A
    number matches exactly as an integer (when it is one the store can hold) and by value through the
    numeric mirror (a stored 0.0 for "0"; integers past 64 bits, which the stores cannot match exactly)."""
    variants: list[Any] = [text]
    num = as_number(text)
    if num is not None:
        if num.is_integer() and -_INT64 <= num < _INT64:
            variants.append(int(num))
        variants.append(float(num))
    flag = _as_bool(text)
    if flag is not None:
        variants.append(flag)
    return tuple(variants)


def _equal(key: str, text: str) -> Node:
    variants = _typed_variants(text)
    return Match(key, variants)


def criterion_to_node(key: str, crit: dict[str, Any], param: str) -> Node:
    op = crit.get("operator")
    text = crit.get("valueText", crit.get("value_text"))
    array = crit.get("valueTextArray", crit.get("value_text_array"))
    if op not in OPERATORS:
        raise InvalidRequest(f"unknown filter operator {op!r}; expected one of {', '.join(OPERATORS)}",
                             param=f"{param}.operator")

    def need_text() -> str:
        if text is None:
            raise InvalidRequest(f"operator {op} needs valueText", param=f"{param}.valueText")
        return str(text)

    def need_array() -> list[str]:
        if array is None:
            if op == "In" and text is not None:
                return [t.strip() for t in str(text).split(",") if t.strip()]
            raise InvalidRequest(f"operator {op} needs valueTextArray", param=f"{param}.valueTextArray")
        if not isinstance(array, list) or not array:
            raise InvalidRequest("valueTextArray must be a non-empty list", param=f"{param}.valueTextArray")
        return [str(v) for v in array]

    if op == "Equal":
        return _equal(key, need_text())
    if op == "NotEqual":
        return Group(must_not=[_equal(key, need_text())])
    if op in ("LessThan", "GreaterThan"):
        num = as_number(need_text())
        if num is None:
            raise InvalidRequest(f"{op} needs a number, got {text!r}", param=f"{param}.valueText")
        num_key = f"{NUM_PREFIX}.{key}"
        return Range(num_key, lt=num) if op == "LessThan" else Range(num_key, gt=num)
    if op in ("In", "ContainsAny"):
        values: list[Any] = []
        for item in need_array():
            values.extend(_typed_variants(item))
        return Match(key, tuple(dict.fromkeys(values)))
    if op == "ContainsAll":
        return Group(must=[_equal(key, item) for item in need_array()])
    return like_to_node(key, need_text())


def like_pieces(pattern: str) -> list[str]:
    """Literal pieces of a Like pattern, anchored with the sentinels where the pattern is anchored.

    `\\%` and `\\_` are literal; matching is case-insensitive (the mirror is lower-cased)."""
    pieces, current, i = [], "", 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "%_\\":
            current += pattern[i + 1]
            i += 2
            continue
        if ch in "%_":
            pieces.append(current)
            current = ""
        else:
            current += ch
        i += 1
    pieces.append(current)
    pieces = [p.lower() for p in pieces]
    pieces[0] = TEXT_START + pieces[0]
    pieces[-1] = pieces[-1] + TEXT_END
    # A lone sentinel says only "the field has a text value": keep it only if nothing else is left.
    kept = [p for p in pieces if p not in ("", TEXT_START, TEXT_END)]
    return kept or [TEXT_START]


def like_to_node(key: str, pattern: str) -> Node:
    mirror_key = f"{TEXT_PREFIX}.{key}"
    pieces = like_pieces(pattern)
    nodes: list[Node] = [Substring(mirror_key, piece) for piece in pieces]
    return nodes[0] if len(nodes) == 1 else Group(must=nodes)


def _validate_path(path: Any, param: str) -> list[str]:
    """A dotted filter path as its keys, each one a key metadata may hold."""
    if not isinstance(path, str) or not path.strip():
        raise InvalidRequest("filter path must be a non-empty dotted name", param=f"{param}.path")
    keys = path.split(".")
    for k in keys:
        if (problem := key_problem(k)) is not None:
            raise InvalidRequest(f"filter path {path!r} cannot be matched: it holds {problem}", param=f"{param}.path")
    return keys


def parse_filter(raw: dict[str, Any] | None, param: str = "filter") -> Group:
    """Translate a Cloudglue `filter` object (wire field names) into a condition tree (all must hold)."""
    root = Group()
    if not raw:
        return root
    if not isinstance(raw, dict):
        raise InvalidRequest("filter must be an object", param=param)
    unknown = set(raw) - {"metadata", "video_info", "file", "tags"}
    if unknown:
        raise InvalidRequest(f"unknown filter section(s): {', '.join(sorted(unknown))}", param=param)
    for section in ("metadata", "video_info", "file", "tags"):
        items = raw.get(section) or []
        if not isinstance(items, list):
            raise InvalidRequest(f"filter.{section} must be a list", param=f"{param}.{section}")
        for i, crit in enumerate(items):
            p = f"{param}.{section}[{i}]"
            if not isinstance(crit, dict):
                raise InvalidRequest("filter criterion must be an object", param=p)
            keys = _validate_path(crit.get("path"), p)
            key = _SECTION_KEYS[section](keys, crit, p)
            root.must.append(criterion_to_node(key, crit, p))
    return root


# Where each filter section's criterion looks in a stored point: (path parts, criterion, param) -> field.

def _metadata_key(keys: list[str], crit: dict[str, Any], p: str) -> str:
    scope = crit.get("scope", "file")
    if scope == "segment" and keys == ["speaker"]:
        return "speakers"  # labels of who speaks in the segment (speaker_1, speaker_2, ...)
    return field_path("segment_metadata" if scope == "segment" else "metadata", *keys)


def _tags_key(keys: list[str], crit: dict[str, Any], p: str) -> str:
    """path = the tag's label; its values as the file's and segment's tags."""
    if crit.get("operator") not in TAG_OPERATORS:
        raise InvalidRequest(f"tag filters take {', '.join(TAG_OPERATORS)}", param=f"{p}.operator")
    return field_path("tags", *keys)


def _video_info_key(keys: list[str], crit: dict[str, Any], p: str) -> str:
    path = ".".join(keys)
    if path not in VIDEO_INFO_PATHS:
        raise InvalidRequest(f"video_info path must be one of {VIDEO_INFO_PATHS}", param=f"{p}.path")
    scope = crit.get("scope", "file")
    if scope not in ("file", "segment"):
        raise InvalidRequest("scope must be 'file' or 'segment'", param=f"{p}.scope")
    if scope == "file":
        return f"video_info.{path}"
    if path != "duration_seconds":
        raise InvalidRequest("only duration_seconds has segment scope", param=f"{p}.path")
    return "segment_duration"


def _file_key(keys: list[str], crit: dict[str, Any], p: str) -> str:
    path = ".".join(keys)
    if path not in FILE_PATHS:
        raise InvalidRequest(f"file path must be one of {sorted(FILE_PATHS)}", param=f"{p}.path")
    return FILE_PATHS[path]


_SECTION_KEYS = {"metadata": _metadata_key, "video_info": _video_info_key, "file": _file_key, "tags": _tags_key}
