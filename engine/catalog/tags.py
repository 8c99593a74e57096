"""Tags (Cloudglue `tags`): label/value pairs on a file or on one segment of it. The catalog holds them;
the store carries each point's tags too (`tags.<label>` = values: the file's and its segment's), so
filters select by tag natively (`engine.tags.sync_payloads` keeps the two in step)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from clipcite.errors import NotFound
from engine.catalog.db import Database, Row
from engine.catalog.records import now_ms


@dataclass(frozen=True)
class TagRecord:
    id: str
    label: str
    value: str
    file_id: str
    segment_id: str | None
    created_at: int

    @property
    def type(self) -> str:
        return "segment" if self.segment_id else "file"


class TagTables:
    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def _rec(row: Row) -> TagRecord:
        return TagRecord(row["id"], row["label"], row["value"], row["file_id"], row["segment_id"], row["created_at"])

    def add(self, label: str, value: str, file_id: str, segment_id: str | None) -> TagRecord:
        rec = TagRecord(str(uuid.uuid4()), label, value, file_id, segment_id, now_ms())
        self.db.insert("tags", {"id": rec.id, "label": rec.label, "value": rec.value, "file_id": rec.file_id,
                                "segment_id": rec.segment_id, "created_at": rec.created_at})
        return rec

    def get(self, tag_id: str) -> TagRecord:
        rows = self.db.q("SELECT * FROM tags WHERE id=?", (tag_id,))
        if not rows:
            raise NotFound(f"tag {tag_id!r} not found", param="tag_id")
        return self._rec(rows[0])

    def update(self, tag_id: str, label: str | None, value: str | None) -> TagRecord:
        old = self.get(tag_id)
        self.db.x("UPDATE tags SET label=?, value=? WHERE id=?", (label or old.label, value or old.value, tag_id))
        return self.get(tag_id)

    def delete(self, tag_id: str) -> TagRecord:
        old = self.get(tag_id)
        self.db.x("DELETE FROM tags WHERE id=?", (tag_id,))
        return old

    def delete_file(self, file_id: str) -> None:
        self.db.x("DELETE FROM tags WHERE file_id=?", (file_id,))

    def list(self, kind: str | None = None, limit: int = 50, offset: int = 0, file_id: str | None = None,
             segment_id: str | None = None, labels: list[str] | None = None) -> tuple[list[TagRecord], int]:
        where, args = ["1=1"], []
        if kind == "file":
            where.append("segment_id IS NULL")
        elif kind == "segment":
            where.append("segment_id IS NOT NULL")
        if file_id is not None:
            where.append("file_id=?")
            args.append(file_id)
        if segment_id is not None:
            where.append("segment_id=?")
            args.append(segment_id)
        if labels:
            where.append(f"label IN ({','.join('?' * len(labels))})")
            args.extend(labels)
        cond = " AND ".join(where)
        total = self.db.q(f"SELECT COUNT(*) FROM tags WHERE {cond}", tuple(args))[0][0]
        rows = self.db.q(f"SELECT * FROM tags WHERE {cond} ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
                         (*args, limit, offset))
        return [self._rec(r) for r in rows], total
