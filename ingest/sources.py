"""Video references inside chat messages (BibiGPT style): a local path, `file://` URL or http(s) URL.

Air-gapped safety first. Local files are read only under `media_roots` (default: none, except that a
server bound to loopback, i.e. a single user's own machine, may read any path the process can). Remote
fetches are off unless `remote_media_fetch` is on, and then only from hosts in `remote_media_hosts`
(exact names, or CIDR blocks for addresses). Downloads stream to the data dir under the upload size cap.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
from pathlib import Path
from urllib.parse import unquote, urlparse

from clipcite.errors import InvalidRequest
from clipcite.media import MEDIA_SUFFIX
from clipcite.settings import Settings
from engine.catalog import new_id
from ingest.library import partial_path

log = logging.getLogger(__name__)

_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _local_path(ref: str) -> Path:
    if ref.startswith("file://"):
        return Path(unquote(urlparse(ref).path))
    return Path(ref).expanduser()


def resolve_local(ref: str, settings: Settings) -> Path:
    try:
        return _checked_local(ref, settings)
    except (OSError, ValueError) as exc:  # a name too long, a NUL byte: not a file this server can read
        raise InvalidRequest(f"not a readable local path: {exc.__class__.__name__}", param="messages") from None


def _checked_local(ref: str, settings: Settings) -> Path:
    path = _local_path(ref).resolve()
    roots = [Path(r).expanduser().resolve() for r in settings.media_roots]
    if roots:
        if not any(path.is_relative_to(r) for r in roots):
            raise InvalidRequest(f"{path} is outside the media roots this server may read (CLIPCITE_MEDIA_ROOTS)",
                                 param="messages")
    elif settings.host not in _LOOPBACK:
        raise InvalidRequest("local video paths are disabled on a network-facing server; set CLIPCITE_MEDIA_ROOTS "
                             "to the folders it may read", param="messages")
    if not path.is_file():
        raise InvalidRequest(f"video {path} does not exist or is not a file", param="messages")
    return path


def _host_allowed(host: str, allowed: list[str]) -> bool:
    if host in allowed:
        return True
    try:
        addrs = {ipaddress.ip_address(host)}
    except ValueError:
        try:
            addrs = {ipaddress.ip_address(info[4][0]) for info in socket.getaddrinfo(host, None)}
        except OSError:
            return False
    nets = []
    for entry in allowed:
        try:
            nets.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            continue
    return bool(addrs) and all(any(a in n for n in nets) for a in addrs)


def fetch_remote(url: str, settings: Settings, dest_dir: Path) -> tuple[Path, str]:
    """Download to `dest_dir` (size-capped); returns (path, filename)."""
    if not settings.remote_media_fetch:
        raise InvalidRequest("fetching videos by URL is off (air-gapped default); set CLIPCITE_REMOTE_MEDIA_FETCH=true "
                             "and CLIPCITE_REMOTE_MEDIA_HOSTS, or pass a local path", param="messages")
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise InvalidRequest(f"unsupported video URL {url!r}", param="messages")
    if not _host_allowed(parsed.hostname, settings.remote_media_hosts):
        raise InvalidRequest(f"host {parsed.hostname!r} is not in CLIPCITE_REMOTE_MEDIA_HOSTS", param="messages")
    import httpx

    name = Path(unquote(parsed.path)).name or "video"
    suffix = Path(name).suffix.lower() if MEDIA_SUFFIX.search(name) else ".bin"
    dest = dest_dir / f"{new_id()}{suffix}"
    tmp = partial_path(dest)
    size = 0
    try:
        with httpx.stream("GET", url, timeout=60, follow_redirects=False) as r:
            if r.status_code != 200:
                raise InvalidRequest(f"fetching {url} gave HTTP {r.status_code}", param="messages")
            with open(tmp, "wb") as out:
                for block in r.iter_bytes(1 << 20):
                    size += len(block)
                    if size > settings.max_upload_bytes:
                        raise InvalidRequest(f"{url} exceeds the {settings.max_upload_bytes} byte limit",
                                             param="messages")
                    out.write(block)
        os.replace(tmp, dest)
    except httpx.HTTPError as exc:
        raise InvalidRequest(f"fetching {url} failed: {exc}", param="messages") from exc
    finally:
        tmp.unlink(missing_ok=True)
    log.info("fetched %s (%d bytes)", url, size)
    return dest, name
