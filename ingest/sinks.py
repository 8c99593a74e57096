"""Where an ingest job's finished points go.

- `StoreSink`: straight into the segment store this process opened (the embedded store in the one process
  that owns it, or a Qdrant server any number of workers write to).
- `OwnerSink`: to the process that owns the embedded store (qdrant-edge holds a lock: one process per
  store), over HTTP in batches; that process writes them with `StoreSink.receive`. A worker on a GPU box
  embeds and sends; the API server writes. The queue, leases and catalog are in the shared database
  either way.

Either way a job's points are written only while its worker still holds the job (`JobQueue.holds`): a job
cancelled by a delete, or taken over by another worker after its lease ran out, writes nothing more.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import asdict
from typing import Any, Protocol

from clipcite.errors import ClipciteError
from engine.catalog import Catalog, JobRecord, JobState
from engine.scopes import membership_scope
from engine.store import SegmentStore, SparseVec, StorePoint
from engine.tags import sync_payloads
from ingest.indexing import write_points

log = logging.getLogger(__name__)

BATCH_POINTS = 64  # points per request to the store's owner (~64 x 384 floats: a few hundred KB of JSON)


class SegmentSink(Protocol):
    @property
    def has_image(self) -> bool: ...  # the store keeps CLIP image vectors

    def write(self, job: JobRecord, points: list[StorePoint]) -> int: ...


def point_to_wire(p: StorePoint) -> dict[str, Any]:
    return asdict(p)


def point_from_wire(d: dict[str, Any]) -> StorePoint:
    return StorePoint(id=int(d["id"]), dense=list(d["dense"]), payload=dict(d["payload"]),
                      sparse={k: SparseVec(list(v["indices"]), list(v["values"])) for k, v in d["sparse"].items()},
                      image=list(d["image"]) if d.get("image") is not None else None)


class StoreSink:
    """Writes into `store`; `fence` (shared with deletes in this process) orders writes against deletes."""

    def __init__(self, catalog: Catalog, store: SegmentStore, fence: AbstractContextManager) -> None:
        self.catalog = catalog
        self.store = store
        self.fence = fence

    @property
    def has_image(self) -> bool:
        return self.store.has_image

    def write(self, job: JobRecord, points: list[StorePoint]) -> int:
        ok = self.receive(job.id, job.owner, job.collection_id, job.file_id, points, keep={p.id for p in points})
        return len(points) if ok else 0

    def receive(self, job_id: str, owner: str | None, collection_id: str, file_id: str, points: list[StorePoint],
                keep: set[int] | None) -> bool:
        """One batch of a job's points; `keep` (the ids of all of them) marks the last batch, after which the
        file's other points in the collection are dropped. False: the job is no longer its worker's."""
        def wanted() -> bool:
            return owner is None or self.catalog.jobs.holds(job_id, owner)

        if not write_points(self.store, points, collection_id, file_id, self.fence, wanted, keep=keep):
            return False
        if keep is None:
            return True
        if not wanted() and self.catalog.jobs.state(job_id) == JobState.CANCELLED:
            # A delete in another process ran between the check and the write (the fence spans this process
            # only, and with a shared Qdrant there is no one owner): take the points back out.
            self.store.delete(membership_scope(collection_id, file_id))
            return False
        self.store.optimize()  # index what crossed the indexing threshold while the job still owns the time
        if self.catalog.tags.list(file_id=file_id, limit=1)[1]:
            sync_payloads(self.catalog, self.store, file_id)  # the new segments carry the file's tags too
        return True


class OwnerSink:
    """Sends points to the API process that owns the embedded store (`POST /v1/internal/segments`)."""

    def __init__(self, base_url: str, api_key: str | None = None, retries: int = 6, timeout: float = 120.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.retries = retries
        self.timeout = timeout
        self._has_image: bool | None = None
        self._lock = threading.Lock()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """JSON over HTTP; connection failures (the owner restarting) are retried with backoff, then raised
        as a job failure naming the owner."""
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        delay, last = 0.5, ""
        for _ in range(self.retries):
            req = urllib.request.Request(self.base_url + path, data=data, method=method, headers=headers)
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310 - the configured owner URL
                    return json.loads(resp.read() or b"{}")
            except urllib.error.HTTPError as exc:
                if exc.code < 500:
                    detail = exc.read().decode(errors="replace")[:300]
                    raise ClipciteError(f"the store owner at {self.base_url} refused segments: {exc.code} {detail}",
                                        ) from exc
                last = f"HTTP {exc.code}"
            except (urllib.error.URLError, OSError) as exc:
                last = str(getattr(exc, "reason", exc))
            time.sleep(delay)
            delay = min(delay * 2, 8.0)
        raise ClipciteError(f"the store owner at {self.base_url} is unreachable ({last})")

    @property
    def has_image(self) -> bool:
        with self._lock:
            if self._has_image is None:
                self._has_image = bool(self._call("GET", "/v1/internal/store").get("has_image"))
            return self._has_image

    def write(self, job: JobRecord, points: list[StorePoint]) -> int:
        batches = list(_batches(points, BATCH_POINTS)) or [[]]
        for i, batch in enumerate(batches):
            last = i == len(batches) - 1
            reply = self._call("POST", "/v1/internal/segments", {
                "job_id": job.id, "owner": job.owner, "collection_id": job.collection_id, "file_id": job.file_id,
                "points": [point_to_wire(p) for p in batch],
                "keep": [p.id for p in points] if last else None})
            if not reply.get("written"):
                log.info("job %s: the store owner wrote nothing (the job was cancelled or taken over)", job.id)
                return 0
        return len(points)


def _batches(items: list[StorePoint], size: int) -> Iterator[list[StorePoint]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]
