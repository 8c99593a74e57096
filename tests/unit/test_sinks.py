"""Where a job's points go: into the store only while its worker still holds the job (a delete's
cancellation or a takeover after an expired lease writes nothing), the last batch dropping the file's
stale points; points survive the trip to the store's owner as JSON unchanged. Real catalog and embedded
store in a temp dir."""

from __future__ import annotations

import json
import threading

import pytest

from clipcite.domain import Segment, SpeechPart
from engine.catalog import Catalog
from engine.payload import point_id, segment_payload
from engine.scopes import membership_scope
from engine.store import EdgeStore, SparseVec, StorePoint
from ingest.sinks import StoreSink, point_from_wire, point_to_wire

DIM = 8


def _point(k: int, text: str = "pallets") -> StorePoint:
    seg = Segment(collection_id="c1", file_id="f1", segment_id=f"f1-{k}", index=k, start_time=20.0 * k,
                  end_time=20.0 * (k + 1), speech=[SpeechPart(f"{text} {k}", 20.0 * k, 20.0 * k + 4)])
    return StorePoint(point_id(seg.segment_id), [float(k + 1)] + [0.5] * (DIM - 1), segment_payload(seg),
                      {"speech_lex": SparseVec([3, 9], [1.0, 0.5])})


@pytest.fixture()
def sink(tmp_path):
    cat, store = Catalog(tmp_path / "c.sqlite3"), EdgeStore(tmp_path / "store", DIM)
    yield StoreSink(cat, store, threading.RLock()), cat, store
    store.close()
    cat.close()


def test_batches_are_written_while_the_job_is_held_and_the_last_drops_stale_points(sink):
    s, cat, store = sink
    job_id = cat.jobs.enqueue("c1", "f1")
    cat.jobs.claim("w1")
    assert s.receive(job_id, "w1", "c1", "f1", [_point(k) for k in range(4)], keep=None)
    assert store.count(membership_scope("c1", "f1")) == 4
    # A re-run plans only three segments: the last batch's keep-set drops the fourth.
    assert s.receive(job_id, "w1", "c1", "f1", [_point(2)], keep={_point(k).id for k in range(3)})
    assert sorted(seg.segment_id for seg in store.segments(membership_scope("c1", "f1"))) == ["f1-0", "f1-1", "f1-2"]


def test_a_job_no_longer_held_writes_nothing(sink):
    s, cat, store = sink
    job_id = cat.jobs.enqueue("c1", "f1")
    cat.jobs.claim("w1")
    assert not s.receive(job_id, "w2", "c1", "f1", [_point(0)], keep=None)  # another worker's job
    cat.jobs.cancel(file_id="f1")  # what a delete does
    assert not s.receive(job_id, "w1", "c1", "f1", [_point(0)], keep={_point(0).id})
    assert store.count(membership_scope("c1", "f1")) == 0


def test_points_cross_the_wire_unchanged(sink):
    p = _point(1)
    back = point_from_wire(json.loads(json.dumps(point_to_wire(p))))
    assert back == p
