"""Any metadata key, any value, any filter tree (hypothesis), on both store backends: a key is either
refused by `check_keys` with a 400 naming it, or stored, indexed and matched by a filter on that path;
a filter on any path is a result or an InvalidRequest, never another error."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clipcite.domain import Segment
from clipcite.errors import InvalidRequest
from engine.filters import check_keys, key_problem, parse_filter
from engine.payload import segment_payload
from engine.store import EdgeStore, QdrantServerStore, StorePoint

DIM = 4
KEYS = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=12) | \
    st.sampled_from(["a.b", 'q"t', "sp ace", " lead", "ключ", "k[0]", "x\\y", "年度", "2024", "tab\tx", "emoji🎬"])
VALUES = st.one_of(st.text(max_size=10), st.integers(-10**6, 10**6), st.booleans(),
                   st.floats(allow_nan=False, allow_infinity=False, width=32))
_ids = itertools.count(1)


@pytest.fixture(scope="module")
def backends(tmp_path_factory):
    edge = EdgeStore(tmp_path_factory.mktemp("edge") / "store", DIM)
    server = QdrantServerStore(DIM, location=":memory:")
    yield edge, server
    edge.close()
    server.close()


def _point(metadata: dict) -> StorePoint:
    n = next(_ids)
    seg = Segment(collection_id="c", file_id=f"f{n}", segment_id=f"s{n}", index=0, start_time=0.0, end_time=1.0,
                  metadata=metadata)
    return StorePoint(id=n, dense=[0.5] * DIM, payload=segment_payload(seg))


def _text(value) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(key=KEYS, value=VALUES)
def test_a_key_is_refused_with_its_name_or_stored_and_matched_on_both_backends(backends, key, value):
    metadata = {key: value}
    if key_problem(key) is not None:
        with pytest.raises(InvalidRequest) as err:
            check_keys(metadata, "metadata")
        assert repr(key) in err.value.message
        if "." not in key:  # as a filter path, a dot nests: "a.b" names b inside a
            with pytest.raises(InvalidRequest):
                parse_filter({"metadata": [{"path": key, "operator": "Equal", "valueText": "x"}]})
        return
    check_keys(metadata, "metadata")
    point = _point(metadata)
    flt = parse_filter({"metadata": [{"path": key, "operator": "Equal", "valueText": _text(value)}]})
    miss = parse_filter({"metadata": [{"path": key, "operator": "Equal", "valueText": _text(value) + "~"}]})
    for store in backends:
        store.upsert([point])  # payload indexes for the key are declared on the way in
        found = {h.payload["file_id"] for h in store.scroll(flt)}
        assert point.payload["file_id"] in found, (type(store).__name__, key, value)
        assert point.payload["file_id"] not in {h.payload["file_id"] for h in store.scroll(miss)}


FILTER_PATHS = st.lists(KEYS, min_size=1, max_size=3).map(".".join)
OPERATORS = st.sampled_from(["Equal", "NotEqual", "LessThan", "GreaterThan", "In", "ContainsAny", "ContainsAll",
                             "Like", "Bogus"])
CRITERIA = st.fixed_dictionaries({"path": FILTER_PATHS, "operator": OPERATORS},
                                 optional={"valueText": st.text(max_size=8),
                                           "valueTextArray": st.lists(st.text(max_size=5), max_size=3),
                                           "scope": st.sampled_from(["file", "segment", "odd"])})


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(crits=st.lists(CRITERIA, min_size=1, max_size=3))
def test_any_filter_tree_is_a_result_or_a_400_on_both_backends(backends, crits):
    try:
        flt = parse_filter({"metadata": crits})
    except InvalidRequest:
        return
    counts = [store.count(flt) for store in backends]
    assert counts[0] == counts[1]
