"""OpenAI-style cursors over offset-paged lists: `after` / `before` name an item of the list.

Why: the openai SDK pages `client.files.list()` by asking again with `after=<last id>` until `has_more` is
false; a server that ignored `after` and sent no `has_more` was asked 121,461 times in a minute.
"""

from __future__ import annotations

from collections.abc import Callable

from clipcite.errors import InvalidRequest


def window(limit: int, offset: int, after: str | None, before: str | None,
           ordered_ids: Callable[[], list[str]]) -> tuple[int, int]:
    """(limit, offset) of the page a cursor names: the items right after `after`, or the `limit` items right
    before `before`; the offset as given without a cursor. An id the list does not hold is a 400."""
    if after is None and before is None:
        return limit, offset
    if after is not None and before is not None:
        raise InvalidRequest("give either after or before, not both", param="before")
    ids = ordered_ids()
    cursor, param = (after, "after") if after is not None else (before, "before")
    if cursor not in ids:
        raise InvalidRequest(f"{param}: no item {cursor!r} in this list", param=param)
    at = ids.index(cursor)
    if after is not None:
        return limit, at + 1
    start = max(0, at - limit)
    return at - start, start
