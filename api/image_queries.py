"""Images in questions (OpenAI `image_url` / `input_image` parts, BibiGPT vision messages): fetched under
the same rules as linked videos (data URLs always; local paths under the media roots; http(s) only with
remote fetch on), then read into words by the ingest models (`ingest.query_image`)."""

from __future__ import annotations

import base64
import binascii
import re
import tempfile
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


def image_query_text(svc: Services, ref: str, param: str) -> str:
    """The image's words for the question ('Image text: ...', 'Image shows: ...'); 400 for an image that
    cannot be fetched or decoded. Blocking (OCR): call it in a worker thread."""
    image = decode_image(_image_bytes(svc, ref, param), param)
    return image_words(svc.worker.ctx.analyzer, image)
