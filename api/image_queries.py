"""Images in questions (OpenAI `image_url` / `input_image` parts, BibiGPT vision messages): fetched under
the same rules as linked videos (data URLs always; local paths under the media roots; http(s) only with
remote fetch on), then read into words by the ingest models (`ingest.query_image`)."""

from __future__ import annotations

import base64
import binascii
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from api.services import Services
from clipcite.errors import InvalidRequest
from ingest.query_image import decode_image, image_words
from ingest.sources import fetch_remote, resolve_local

_DATA_URL = re.compile(r"^data:(?P<type>[\w/+.-]*)(?:;[\w=.-]+)*?(?P<b64>;base64)?,(?P<data>.*)$", re.S)


def _image_bytes(svc: Services, ref: str, param: str) -> bytes:
    m = _DATA_URL.match(ref)
    if m is not None:
        if not m["b64"]:
            raise InvalidRequest("image data URLs must be base64 (data:image/png;base64,...)", param=param)
        try:
            return base64.b64decode(m["data"], validate=False)
        except (binascii.Error, ValueError):
            raise InvalidRequest("the image data URL is not valid base64", param=param) from None
    if ref.startswith(("http://", "https://")):
        with tempfile.TemporaryDirectory(dir=svc.files_dir) as tmp:
            path, _ = fetch_remote(ref, svc.settings, Path(tmp))
            return path.read_bytes()
    if len(ref) > 4096:
        raise InvalidRequest("image_url must be a data URL, an http(s) URL or a local path", param=param)
    path = resolve_local(ref, svc.settings)
    if path.stat().st_size > svc.settings.max_upload_bytes:
        raise InvalidRequest(f"{path} exceeds the upload size limit", param=param)
    return path.read_bytes()


@dataclass(frozen=True)
class QueryImage:
    words: str  # 'Image text: ...', 'Image shows: ...' (empty when it has neither)
    vector: tuple[float, ...] | None  # its CLIP vector, when CLIP weights are configured and indexed


def read_query_image(svc: Services, ref: str, param: str) -> QueryImage:
    """The image read for the question: its words, and its CLIP vector when the store holds keyframe
    vectors; 400 for an image that cannot be fetched or decoded. Blocking (OCR): call it in a worker thread."""
    image = decode_image(_image_bytes(svc, ref, param), param)
    vector = None
    if svc.clip is not None and svc.store.has_image:
        vector = tuple(float(x) for x in svc.clip.embed_images([image])[0])
    return QueryImage(image_words(svc.worker.ctx.analyzer, image), vector)


def read_all(svc: Services, refs: list[str], param: str) -> dict[str, QueryImage]:
    return {r: read_query_image(svc, r, param) for r in dict.fromkeys(refs)}


def last_vector(images: dict[str, QueryImage], refs: list[str]) -> tuple[float, ...] | None:
    """The vector of the latest image the conversation sent (it is what the question is about)."""
    return next((images[r].vector for r in reversed(refs) if images[r].vector is not None), None)
