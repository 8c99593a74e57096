"""Cloudglue resources with no self-hosted, offline counterpart answer 501 in the error shape, with the
reason, instead of a bare 404 that reads like a wrong base URL. README's compatibility table lists them.
Not in the OpenAPI document: there is nothing to call."""

from __future__ import annotations

from fastapi import APIRouter

from clipcite.errors import NotSupported

router = APIRouter(include_in_schema=False)

REASONS = {
    "data-connectors": "data connectors pull from cloud services (Google Drive, Zoom, Grain, ...); an offline "
                       "server has none. Upload files, or index a folder with `clipcite index`",
    "sites": "hosted sites and route previews are a Cloudglue cloud feature",
    "share": "public share links need a hosted service; serve `/v1/files/{id}/media` behind your own proxy",
    "face-detect": "face detection needs face-recognition weights, which no offline package provides",
    "face-match": "face matching needs face-recognition weights, which no offline package provides",
    "query": "SQL over entity collections (nimbus-002) is not supported; use extract, search or responses",
    "webhooks": "webhooks are not supported; poll the job, collection or response status",
}
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def _refuse(resource: str) -> None:
    raise NotSupported(f"/v1/{resource} is not supported by Clipcite: {REASONS[resource]}", code="not_supported")


def _refusal(resource: str):  # noqa: ANN202 - a route endpoint
    def endpoint() -> None:  # no parameters: nothing the client sends reaches it
        _refuse(resource)
    return endpoint


for _resource in REASONS:
    router.add_api_route(f"/{_resource}", _refusal(_resource), methods=METHODS)
    router.add_api_route(f"/{_resource}/{{rest:path}}", _refusal(_resource), methods=METHODS)


@router.api_route("/collections/{collection_id}/imports{rest:path}", methods=METHODS)
def bulk_imports(collection_id: str, rest: str) -> None:
    raise NotSupported("bulk imports pull from data connectors, which an offline server has none of; use "
                       "`clipcite index` on a folder", code="not_supported")
