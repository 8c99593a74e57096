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
