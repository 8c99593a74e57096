"""Catalog rows as dataclasses, and the three status vocabularies as enums.

"completed" used to mean two things: a *file* is usable media once probed, a *collection entry* once
indexed. They are separate types now, with the same wire values as before.
"""

from __future__ import annotations

import sys
import time
import uuid
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from clipcite.domain import VideoInfo

if sys.version_info >= (3, 11):
    from enum import StrEnum
else:  # pragma: no cover - Python 3.10
    class StrEnum(str, Enum):
        def __str__(self) -> str:
            return str(self.value)


class MediaStatus(StrEnum):
    """A file: probed and usable, or not media we can index (with its reason)."""

    USABLE = "completed"
    UNUSABLE = "failed"


class IndexStatus(StrEnum):
    """A file's entry in one collection."""

    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"

    @property
    def busy(self) -> bool:
        return self in (IndexStatus.PENDING, IndexStatus.PROCESSING)


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


def now_ms() -> int:
    return int(time.time() * 1000)


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass
class FileRecord:
    id: str
    filename: str
    path: str
    bytes: int
    sha256: str
    created_at: int
    metadata: dict[str, Any]
    video_info: VideoInfo | None  # stored as JSON (VideoInfo.to_dict: warnings only when there are some)
    status: MediaStatus
    error: str | None = None

    @property
    def uri(self) -> str:
        return f"clipcite://files/{self.id}"


@dataclass
class CollectionRecord:
    id: str
    name: str
    description: str | None
    collection_type: str
    default_segmentation_config: dict[str, Any] | None
    created_at: int
    file_count: int = 0
    status_counts: dict[str, int] = field(default_factory=dict)  # files by status in this collection


@dataclass
class CollectionFileRecord:
    collection_id: str
    file_id: str
    added_at: int
    status: IndexStatus
    segmentation_id: str
    segmentation_config: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    segment_count: int = 0


@dataclass
class JobRecord:
    id: str
    collection_id: str
    file_id: str
    state: JobState
    attempts: int
    error: str | None
    owner: str | None = None  # the worker holding its lease (running jobs)
