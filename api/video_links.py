"""Chat messages that link a video (BibiGPT shape): ingest it on the fly, once, then answer about it.

The video is identified by content hash, so linking the same file or URL again reuses its index. It is
indexed into the `linked-videos` collection by the normal worker (same limits, same failure handling);
the request waits for it, up to `video_url_timeout`.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from fastapi.concurrency import run_in_threadpool

from api.protocol import ChatCompletionRequest
from api.services import Services
from clipcite.errors import Conflict, MediaError
from engine.catalog import FileRecord, IndexStatus, MediaStatus
from engine.chat import LinkedVideo
from ingest.batch import get_or_create_collection
from ingest.library import add_to_collection, find_or_register
from ingest.segment import SegmentationConfig
from ingest.sources import fetch_remote, resolve_local

LINKED_COLLECTION = "linked-videos"


def register_ref(svc: Services, ref: str) -> FileRecord:
    """The file at a local path, `file://` or allowed http(s) URL, registered once by content (a second
    link to the same content reuses the file); 422 for media that cannot be used."""
    if ref.startswith(("http://", "https://")):
        path, name = fetch_remote(ref, svc.settings, svc.files_dir)
    else:
        path = resolve_local(ref, svc.settings)
        name = path.name
    frec, new = find_or_register(svc.catalog, path, name, {"source": ref},
                                 allow_partial=svc.settings.allow_partial_media)
    if not new and path.parent == svc.files_dir and Path(frec.path) != path:
        path.unlink(missing_ok=True)  # a second download of content already stored
    if frec.status == MediaStatus.UNUSABLE:
        raise MediaError(f"the linked video cannot be used: {frec.error}", param="messages")
    return frec


def _ingest(svc: Services, ref: str) -> tuple[str, str]:
    """(collection_id, file_id), queued or already indexed."""
    frec = register_ref(svc, ref)
    coll = get_or_create_collection(svc.catalog, LINKED_COLLECTION, None)
    cfg = SegmentationConfig.from_wire(None, svc.settings.segment_seconds)
    _, queued = add_to_collection(svc.catalog, coll, frec, cfg)
    if queued:
        svc.worker.wake()
    return coll.id, frec.id


async def linked_video(svc: Services, body: ChatCompletionRequest) -> LinkedVideo | None:
    users = [m for m in body.messages if m.role == "user"]
    if not users or not (ref := users[-1].video_ref()):
        return None
    collection_id, file_id = await run_in_threadpool(_ingest, svc, ref)
    deadline = time.monotonic() + svc.settings.video_url_timeout
    while True:
        cf = svc.catalog.library.get_collection_file(collection_id, file_id)
        if cf.status == IndexStatus.COMPLETED:
            return LinkedVideo(collection_id, file_id, users[-1].instruction().strip())
        if cf.status == IndexStatus.FAILED:
            raise MediaError(f"the linked video could not be indexed: {cf.error}", param="messages")
        if time.monotonic() > deadline:
            raise Conflict(f"the linked video is still being indexed after {svc.settings.video_url_timeout:.0f}s; "
                           "ask again later (it keeps indexing)", param="messages")
        await asyncio.sleep(0.5)
