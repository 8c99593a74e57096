"""Congruence: the embedded store and qdrant-client (`:memory:` standing in for a server) return the
same results for the same filtered queries (qdrant-client's tests/congruence_tests do the same)."""

import random

import pytest

from clipcite.domain import Segment, SpeechPart
from engine import lexical
from engine.filters import Group, Match, parse_filter
from engine.payload import segment_payload
from engine.store import EdgeStore, HybridQuery, QdrantServerStore, StorePoint

DIM = 8
WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "4471", "b12"]


def make_points(n=60, seed=7):
    rng = random.Random(seed)
    pts = []
    for i in range(n):
        text = " ".join(rng.choice(WORDS) for _ in range(6))
        seg = Segment(collection_id=f"c{i % 2}", file_id=f"f{i % 5}", segment_id=f"s{i}", index=i,
                      start_time=float(i), end_time=float(i) + 1 + (i % 3),
                      speech=[SpeechPart(text, float(i), float(i) + 1)],
                      metadata={"dept": ["sales", "ops", "lab"][i % 3], "year": str(2020 + i % 5),
                                "tags": [["a"], ["a", "b"], ["c"]][i % 3], "score": i % 7},
                      video_info={"duration_seconds": 10.0 + i % 4, "has_audio": bool(i % 2),
                                  "language": ["en", "es", "zh"][i % 3]},
                      file_info={"filename": f"video_{i % 5}.mp4", "bytes": 1000 * i, "id": f"f{i % 5}"})
        pts.append(StorePoint(id=i + 1, dense=[rng.uniform(-1, 1) for _ in range(DIM)], payload=segment_payload(seg),
                              sparse={"speech_lex": lexical.doc_vector(text)}))
    return pts


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    edge = EdgeStore(tmp_path_factory.mktemp("edge") / "store", DIM)
    server = QdrantServerStore(DIM, location=":memory:")
    pts = make_points()
    edge.upsert(pts)
    server.upsert(pts)
    yield edge, server
    edge.close()
    server.close()


FILTERS = [
    None,
    {"metadata": [{"path": "dept", "operator": "Equal", "valueText": "ops"}]},
    {"metadata": [{"path": "year", "operator": "GreaterThan", "valueText": "2022"}]},
    {"metadata": [{"path": "year", "operator": "LessThan", "valueText": "2022"},
                  {"path": "tags", "operator": "ContainsAny", "valueTextArray": ["a"]}]},
    {"metadata": [{"path": "tags", "operator": "ContainsAll", "valueTextArray": ["a", "b"]}]},
    {"metadata": [{"path": "dept", "operator": "NotEqual", "valueText": "lab"}]},
    {"metadata": [{"path": "dept", "operator": "In", "valueTextArray": ["lab", "ops"]}]},
    {"metadata": [{"path": "score", "operator": "Equal", "valueText": "3"}]},
    {"video_info": [{"path": "has_audio", "operator": "Equal", "valueText": "true"}]},
    {"video_info": [{"path": "language", "operator": "Equal", "valueText": "es"}]},
    {"video_info": [{"path": "language", "operator": "In", "valueTextArray": ["zh", "es"]}]},
    {"video_info": [{"path": "duration_seconds", "operator": "GreaterThan", "valueText": "11.5"}]},
    {"video_info": [{"path": "duration_seconds", "scope": "segment", "operator": "LessThan", "valueText": "2.5"}]},
    {"file": [{"path": "filename", "operator": "Equal", "valueText": "video_3.mp4"}]},
    {"file": [{"path": "bytes", "operator": "GreaterThan", "valueText": "30000"}]},
]
LIKE_FILTERS = [
    {"file": [{"path": "filename", "operator": "Like", "valueText": "VIDEO%"}]},
    {"file": [{"path": "filename", "operator": "Like", "valueText": "%_3.mp4"}]},
    {"file": [{"path": "filename", "operator": "Like", "valueText": "video_2.MP4"}]},
    {"file": [{"path": "id", "operator": "Like", "valueText": "f%"}]},
    {"metadata": [{"path": "dept", "operator": "Like", "valueText": "%p%"}]},
    {"metadata": [{"path": "dept", "operator": "Like", "valueText": "o%s"}]},
    {"metadata": [{"path": "year", "operator": "Like", "valueText": "%3"}]},
    {"metadata": [{"path": "score", "operator": "Like", "valueText": "6"}]},
    {"metadata": [{"path": "tags", "operator": "Like", "valueText": "b"}]},
    {"metadata": [{"path": "dept", "operator": "Like", "valueText": "%"}]},
]


def expected_ids(points, flt):
    """Reference semantics, computed in Python over the same payloads."""
    g = parse_filter(flt)
    return {p.id for p in points if _match(p.payload, g)}


def _get(payload, key):
    value = payload
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _match(payload, node):
    from engine.filters import Range, Substring
    if isinstance(node, Group):
        return (all(_match(payload, n) for n in node.must)
                and (not node.should or any(_match(payload, n) for n in node.should))
                and not any(_match(payload, n) for n in node.must_not))
    value = _get(payload, node.key)
    values = value if isinstance(value, list) else [value]
    if isinstance(node, Substring):
        return any(isinstance(v, str) and node.text in v for v in values)
    if isinstance(node, Range):
        return any(v is not None and (node.gt is None or v > node.gt) and (node.lt is None or v < node.lt)
                   for v in values)
    return any(v == w and type(v) is type(w) for v in values for w in node.values)


@pytest.mark.parametrize("flt", FILTERS)
def test_filtered_queries_agree(stores, flt):
    edge, server = stores
    q = HybridQuery(dense=[0.1 * i for i in range(DIM)], limit=100)
    g = parse_filter(flt)
    a = {h.id for h in edge.query(q, g)}
    b = {h.id for h in server.query(q, g)}
    assert a == b == expected_ids(make_points(), flt)
    assert edge.count(g) == server.count(g) == len(a)


def _like_regex(pattern):
    import re
    return re.compile("".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern),
                      re.IGNORECASE | re.DOTALL)


@pytest.mark.parametrize("flt", LIKE_FILTERS)
def test_like_agrees_across_backends_and_with_sql_semantics(stores, flt):
    """Like runs natively (substring conditions on the text mirror) in both backends, and for these
    pattern shapes its result equals SQL ILIKE over the original values."""
    edge, server = stores
    g = parse_filter(flt)
    q = HybridQuery(dense=[0.1 * i for i in range(DIM)], limit=100)
    a = {h.id for h in edge.query(q, g)}
    b = {h.id for h in server.query(q, g)}
    section = next(iter(flt))
    crit = flt[section][0]
    key = {"file": {"filename": "file_info.filename", "id": "file_id"}}.get(section, {}).get(
        crit["path"], f"metadata.{crit['path']}")
    rx = _like_regex(crit["valueText"])
    truth = set()
    for p in make_points():
        value = _get(p.payload, key)
        values = value if isinstance(value, list) else [value]
        if any(v is not None and rx.fullmatch(str(v)) for v in values):
            truth.add(p.id)
    assert truth, "a pattern that matches nothing proves little"
    assert a == b == truth


def test_hybrid_fusion_agrees_on_top_hit(stores):
    edge, server = stores
    q = HybridQuery(dense=[0.0] * (DIM - 1) + [1.0], sparse={"speech_lex": lexical.query_vector("4471")}, limit=5)
    top_edge = edge.query(q, None)[0]
    assert "4471" in top_edge.payload["speech"][0]["text"] or top_edge.id == server.query(q, None)[0].id


def test_lexical_finds_exact_code(stores):
    edge, server = stores
    for store in (edge, server):
        hits = store.query(HybridQuery(dense=None, sparse={"speech_lex": lexical.query_vector("b12")}, limit=5), None)
        assert hits and all("b12" in h.payload["speech"][0]["text"] for h in hits)


def test_set_payload_and_delete(tmp_path):
    store = EdgeStore(tmp_path / "s", DIM)
    pts = make_points(10)
    store.upsert(pts)
    scope = Group(must=[Match("file_id", ("f1",))])
    store.set_payload(scope, {"metadata": {"dept": "moved"}})
    store.set_payload(scope, {"metadata": {}}, key="_num")
    store.set_payload(scope, {"filename": "\x02renamed.mp4\x03"}, key="_lc.file_info")
    renamed = parse_filter({"file": [{"path": "filename", "operator": "Like", "valueText": "RENAMED%"}]})
    assert store.count(renamed) == 2
    assert all(h.payload["_lc"]["metadata"]["dept"] for h in store.scroll(scope))  # nested key merges
    flt = parse_filter({"metadata": [{"path": "dept", "operator": "Equal", "valueText": "moved"}]})
    assert store.count(flt) == store.count(scope) == 2
    assert all(h.payload["_num"].get("segment_duration") for h in store.scroll(scope))
    store.delete(scope)
    assert store.count(scope) == 0 and store.count() == 8
    store.close()
    reopened = EdgeStore(tmp_path / "s", DIM)
    assert reopened.count() == 8
    reopened.close()


def test_user_metadata_gets_payload_indexes_by_value_type():
    from engine.payload import numeric_mirror
    from engine.store import user_index_plan

    payload = {"metadata": {"department": "ops", "year": 2024, "tags": ["a", "b"], "geo": {"city": "Oslo"},
                            "score": 0.5, "flag": True},
               "segment_metadata": {"topic": "intro"}}
    payload["_num"] = numeric_mirror(payload)
    plan = user_index_plan([payload])
    assert plan["metadata.department"] == "keyword" and plan["metadata.tags"] == "keyword"
    assert plan["metadata.geo.city"] == "keyword" and plan["segment_metadata.topic"] == "keyword"
    assert plan["metadata.year"] == "integer"
    assert plan["_num.metadata.year"] == plan["_num.metadata.score"] == plan["_num.metadata.flag"] == "float"
    assert "metadata.score" not in plan and "metadata.flag" not in plan  # matched through the mirror


def test_segments_from_before_the_text_mirror_get_it_at_start_up(tmp_path):
    from ingest.migrate import backfill_text_mirror

    store = EdgeStore(tmp_path / "s", DIM)
    old = make_points(12)
    for p in old:
        p.payload.pop("_lc")  # as written by the previous release
    store.upsert(old)
    like = parse_filter({"file": [{"path": "filename", "operator": "Like", "valueText": "VIDEO_1%"}]})
    assert store.count(like) == 0
    assert backfill_text_mirror(store, batch=5) == 12
    assert store.count(like) == sum(1 for p in old if p.payload["file_info"]["filename"] == "video_1.mp4") > 0
    assert backfill_text_mirror(store) == 0
    store.close()


def test_migrations_run_once_per_data_dir(tmp_path, monkeypatch):
    from engine.catalog import Catalog
    from ingest import migrate

    calls = []
    monkeypatch.setattr(migrate, "backfill_text_mirror", lambda store: calls.append(store))
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    migrate.run_migrations(catalog, "store")
    migrate.run_migrations(catalog, "store")
    catalog.close()
    migrate.run_migrations(Catalog(tmp_path / "catalog.sqlite3"), "store")
    assert calls == ["store"]


def test_image_vectors_in_both_backends(tmp_path):
    """Stores created with a CLIP size carry the `image` vector and search it alone or fused."""
    pts = make_points(20)
    rng = random.Random(3)
    for p in pts:
        p.image = [rng.uniform(-1, 1) for _ in range(4)]
    edge = EdgeStore(tmp_path / "e", DIM, image_dim=4)
    server = QdrantServerStore(DIM, location=":memory:", image_dim=4)
    try:
        for store in (edge, server):
            assert store.has_image
            store.upsert(pts)
            top = store.query(HybridQuery(dense=None, image=pts[7].image, limit=3), None)
            assert top[0].id == pts[7].id
            fused = store.query(HybridQuery(dense=pts[7].dense, image=pts[7].image, limit=3), None)
            assert fused[0].id == pts[7].id
        plain = EdgeStore(tmp_path / "plain", DIM)
        assert not plain.has_image
        plain.close()
    finally:
        edge.close()
        server.close()


def test_optimize_builds_hnsw_once_new_points_pass_the_threshold(tmp_path):
    """Below the threshold optimize() is a no-op (exact search); past it, the new segment gets HNSW."""
    import numpy as np

    store = EdgeStore(tmp_path / "big", 384)
    vecs = np.random.default_rng(0).standard_normal((6000, 384)).astype(np.float32)

    def points(lo, hi):
        return [StorePoint(id=i + 1, dense=vecs[i].tolist(), payload={"collection_id": "c", "file_id": "f"})
                for i in range(lo, hi)]

    try:
        store.upsert(points(0, 1000))
        store.optimize()
        assert store.shard.info().indexed_vectors_count == 0
        for lo in range(1000, 6000, 1000):
            store.upsert(points(lo, lo + 1000))
        store.optimize()
        assert store.shard.info().indexed_vectors_count >= 5000
        hit = store.query(HybridQuery(dense=vecs[4321].tolist(), limit=1), None)[0]
        assert hit.id == 4322
    finally:
        store.close()


def test_points_by_id_and_segments_agree_in_both_backends(stores):
    for store in stores:
        hits = store.get([3, 7, 999_999])  # an unknown id is simply absent
        assert sorted(h.id for h in hits) == [3, 7]
        assert {h.segment.segment_id for h in hits} == {"s2", "s6"}
        segs = store.segments(Group(must=[Match("file_id", ("f1",))]))
        assert segs and all(s.file_id == "f1" for s in segs)
        assert store.get([]) == []


def test_a_delete_without_a_scope_is_refused_in_both_backends(stores):
    from clipcite.errors import UnsafeOperation

    for store in stores:
        before = store.count()
        with pytest.raises(UnsafeOperation):
            store.delete(Group())
        assert store.count() == before > 0


def test_named_scopes():
    from engine.scopes import collection_scope, file_scope, membership_scope, search_scope, segment_scope

    assert file_scope("f") == Group(must=[Match("file_id", ("f",))])
    assert collection_scope("c") == Group(must=[Match("collection_id", ("c",))])
    assert membership_scope("c", "f").must == [Match("collection_id", ("c",)), Match("file_id", ("f",))]
    assert segment_scope("f", "s").must == [Match("file_id", ("f",)), Match("segment_id", ("s",))]
    flt = Group(must=[Match("metadata.dept", ("ops",))])
    assert search_scope(None, None).is_empty()  # the whole library: no collection condition
    assert search_scope(["a", "b"], flt, ["f"]).must == [Match("collection_id", ("a", "b")),
                                                         Match("file_id", ("f",)), flt]


def test_metadata_writes_rewrite_the_mirrors_the_way_indexing_writes_them(stores):
    """After an update, a filter on the new value matches exactly as if the segment had been indexed with it."""
    from engine.payload import file_metadata_writes, segment_metadata_writes
    from engine.scopes import file_scope, segment_scope

    edge, server = stores
    for store in stores:
        for payload, key in file_metadata_writes({"dept": "field", "rank": 9, "flag": True}, "renamed.mp4"):
            store.set_payload(file_scope("f4"), payload, key=key)
        for payload, key in segment_metadata_writes({"topic": "Budget"}):
            store.set_payload(segment_scope("f4", "s4"), payload, key=key)
    for raw in ({"metadata": [{"path": "dept", "operator": "Equal", "valueText": "field"}]},
                {"metadata": [{"path": "rank", "operator": "GreaterThan", "valueText": "8"}]},
                {"metadata": [{"path": "flag", "operator": "Equal", "valueText": "true"}]},
                {"metadata": [{"path": "dept", "operator": "Like", "valueText": "FIE%"}]},
                {"file": [{"path": "filename", "operator": "Equal", "valueText": "renamed.mp4"}]},
                {"metadata": [{"path": "topic", "scope": "segment", "operator": "Equal", "valueText": "Budget"}]}):
        flt = parse_filter(raw)
        got = [sorted(s.segment_id for s in st.segments(flt)) for st in (edge, server)]
        assert got[0] == got[1] and got[0], raw
        assert all(s.file_id == "f4" for s in edge.segments(flt))
    assert edge.segments(parse_filter({"metadata": [{"path": "dept", "operator": "Equal", "valueText": "lab"}]}))
