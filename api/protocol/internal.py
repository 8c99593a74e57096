"""Internal: ingest workers hand finished points to the process that owns the embedded store."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, model_validator


# --- internal: ingest workers hand finished points to the process that owns the embedded store ---
class WireSparse(BaseModel):
    indices: list[int]
    values: list[float]

    @model_validator(mode="after")
    def _paired(self) -> WireSparse:
        if len(self.indices) != len(self.values):
            raise ValueError("a sparse vector needs one value per index")
        return self


class WirePoint(BaseModel):
    id: int = Field(ge=0)
    dense: list[float]
    payload: dict[str, Any]
    sparse: dict[str, WireSparse] = Field(default_factory=dict)
    image: list[float] | None = None


class SegmentBatch(BaseModel):
    """One batch of a job's points (`ingest.sinks.OwnerSink`); `keep` (all the job's point ids) marks the
    last batch, after which the file's other points in the collection are dropped."""

    job_id: str
    owner: str
    collection_id: str
    file_id: str
    points: list[WirePoint] = Field(max_length=1024)
    keep: list[int] | None = None
