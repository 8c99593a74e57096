"""Worker-to-owner calls, not part of the public API (left out of the OpenAPI document): a `clipcite
worker` on another machine sends the points it built to the API process that owns the embedded store
(qdrant-edge allows one process per store), which writes them under the same fence its deletes take.
Guarded by the API keys like every /v1 route."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ServicesDep
from api.protocol import SegmentBatch
from clipcite.errors import Conflict, InvalidRequest
from ingest.sinks import StoreSink, point_from_wire

router = APIRouter(tags=["internal"], include_in_schema=False)


def _sink(svc: ServicesDep) -> StoreSink:
    sink = svc.worker.ctx.sink
    if not isinstance(sink, StoreSink):  # this process does not own a store (a misconfigured chain of workers)
        raise Conflict("this server does not own the segment store", param="store_owner_url")
    return sink


@router.get("/internal/store")
def store_info(svc: ServicesDep) -> dict[str, bool]:
    return {"has_image": _sink(svc).has_image}


@router.post("/internal/segments")
def receive_segments(svc: ServicesDep, body: SegmentBatch) -> dict[str, bool]:
    """`written: false` when the job is no longer the sender's (cancelled by a delete, or taken over after
    its lease ran out): the worker stops, and nothing of it is written."""
    sink = _sink(svc)
    for p in body.points:
        if len(p.dense) != sink.store.dim or (p.image is not None and not sink.has_image):
            raise InvalidRequest(f"point {p.id} does not fit this store ({sink.store.dim}-d dense vectors"
                                 f"{', image vectors' if sink.has_image else ', no image vectors'}): the "
                                 "worker's embedding model must be the server's", param="points")
    points = [point_from_wire(p.model_dump()) for p in body.points]
    keep = set(body.keep) if body.keep is not None else None
    written = sink.receive(body.job_id, body.owner, body.collection_id, body.file_id, points, keep)
    return {"written": written}
