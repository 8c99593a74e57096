"""Route dependencies: the services built in the lifespan, and API-key checking."""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import Depends, Request

from api.services import Services
from clipcite.errors import Unauthorized


def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]

# List offsets go to SQLite, whose integers are 64-bit: a larger one is a 400, not an overflow (500).
MAX_OFFSET = 2**63 - 1


def _presented_key(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.headers.get("x-access-token") or request.headers.get("x-api-key")


# The web page sets this cookie (SameSite=Strict) so that <video> and <img> elements, which cannot send
# headers, can load media and thumbnails. It is honoured for reads only, so it cannot be used to forge writes.
KEY_COOKIE = "clipcite_key"


def require_api_key(request: Request) -> None:
    """When keys are configured, every /v1 route needs one (Bearer or x-access-token); constant-time compare."""
    keys = request.app.state.services.settings.api_keys
    if not keys:
        return
    presented = _presented_key(request)
    if presented is None and request.method in ("GET", "HEAD"):
        presented = request.cookies.get(KEY_COOKIE)
    presented = presented or ""
    if not any(hmac.compare_digest(presented.encode(), k.encode()) for k in keys):
        raise Unauthorized("missing or invalid API key")


def client_identity(request: Request) -> str:
    """Who is asking, for the order of the model slot (`engine.client_standing`): the API key presented
    (hashed: the table outlives the request) where the server has keys, else the peer's address. Without
    server keys a presented key proves nothing (a client would send a new one to shed its standing); behind
    a reverse proxy, run uvicorn with its proxy headers or every keyless user is one client."""
    key = _presented_key(request) or request.cookies.get(KEY_COOKIE)
    if key and request.app.state.services.settings.api_keys:
        return "key:" + hashlib.sha256(key.encode()).hexdigest()[:16]
    return "addr:" + (request.client.host if request.client else "")
