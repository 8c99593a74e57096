"""What counts as a media reference in text: shared by the wire protocol (is this message a link?) and
ingest (fetching it), so neither layer imports the other for a string test."""

from __future__ import annotations

import re

MEDIA_SUFFIX = re.compile(r"\.(mp4|mkv|mov|webm|avi|m4v|mpg|mpeg|ts|wmv|flv|mp3|wav|m4a|flac|ogg|opus)$", re.I)


def looks_like_video_ref(text: str) -> bool:
    """A whole message that is only a URL or a media path (no question around it)."""
    t = (text or "").strip()
    if not t or any(c.isspace() for c in t):
        return False
    if t.startswith(("http://", "https://", "file://")):
        return True
    return t.startswith(("/", "~")) and bool(MEDIA_SUFFIX.search(t))


FILE_URI_PREFIXES = ("clipcite://files/", "cloudglue://files/")  # a file's `uri`, and Cloudglue's spelling


def file_id_of(ref: str) -> str | None:
    """The file id in a file URI (`clipcite://files/<id>` or `cloudglue://files/<id>`), else None."""
    for prefix in FILE_URI_PREFIXES:
        if ref.startswith(prefix):
            return ref[len(prefix):]
    return None
