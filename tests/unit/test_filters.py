import pytest

from clipcite.errors import InvalidRequest
from engine.filters import Group, Match, Range, Substring, like_pieces, parse_filter
from engine.payload import numeric_mirror, text_mirror


def test_empty_filter_is_empty_group():
    assert parse_filter(None).is_empty()
    assert parse_filter({}).is_empty()


def test_metadata_equal_matches_text_and_number_spellings():
    g = parse_filter({"metadata": [{"path": "year", "operator": "Equal", "valueText": "2024"}]})
    assert g.must == [Match("metadata.year", ("2024", 2024, 2024.0))]  # 2024.0: stored floats, by the mirror


def test_nested_path_and_contains_any():
    g = parse_filter({"metadata": [{"path": "a.b", "operator": "ContainsAny", "valueTextArray": ["x", "y"]}]})
    assert g.must == [Match("metadata.a.b", ("x", "y"))]


def test_contains_all_requires_each_value():
    g = parse_filter({"metadata": [{"path": "tags", "operator": "ContainsAll", "valueTextArray": ["a", "b"]}]})
    (node,) = g.must
    assert isinstance(node, Group) and node.must == [Match("metadata.tags", ("a",)), Match("metadata.tags", ("b",))]


def test_not_equal_is_must_not():
    (node,) = parse_filter({"metadata": [{"path": "d", "operator": "NotEqual", "valueText": "x"}]}).must
    assert isinstance(node, Group) and node.must_not == [Match("metadata.d", ("x",))]


def test_less_than_uses_numeric_mirror():
    g = parse_filter({"video_info": [{"path": "duration_seconds", "operator": "LessThan", "valueText": "60"}]})
    assert g.must == [Range("_num.video_info.duration_seconds", lt=60.0)]


def test_segment_scope_duration():
    g = parse_filter({"video_info": [{"path": "duration_seconds", "scope": "segment", "operator": "GreaterThan",
                                      "valueText": "5"}]})
    assert g.must == [Range("_num.segment_duration", gt=5.0)]


def test_in_accepts_text_list_or_array():
    a = parse_filter({"file": [{"path": "filename", "operator": "In", "valueText": "a.mp4, b.mp4"}]})
    b = parse_filter({"file": [{"path": "filename", "operator": "In", "valueTextArray": ["a.mp4", "b.mp4"]}]})
    assert a.must == b.must == [Match("file_info.filename", ("a.mp4", "b.mp4"))]


def test_file_id_path_maps_to_payload_field():
    g = parse_filter({"file": [{"path": "id", "operator": "Equal", "valueText": "abc"}]})
    assert g.must == [Match("file_id", ("abc",))]


def test_like_is_substring_on_the_text_mirror():
    g = parse_filter({"file": [{"path": "filename", "operator": "Like", "valueText": "%Brief%"}]})
    assert g.must == [Substring("_lc.file_info.filename", "brief")]


@pytest.mark.parametrize("pattern,pieces", [
    ("YO%", ["\x02yo"]),
    ("%.mp4", [".mp4\x03"]),
    ("a%b", ["\x02a", "b\x03"]),
    ("exact", ["\x02exact\x03"]),
    ("%", ["\x02"]),
    ("%%a%%", ["a"]),
    ("my\\_file%", ["\x02my_file"]),
    ("100\\%", ["\x02100%\x03"]),
    ("x_y", ["\x02x", "y\x03"]),
])
def test_like_pieces(pattern, pieces):
    assert like_pieces(pattern) == pieces


def test_text_mirror_lowercases_strings_numbers_and_arrays():
    m = text_mirror({"metadata": {"Name": "Ann", "n": 3, "ok": True, "tags": ["A", 1]}, "file_id": "F1",
                     "file_info": {"filename": "X.MP4"}})
    assert m["metadata"] == {"Name": "\x02ann\x03", "n": "\x023\x03", "ok": "\x02true\x03",
                             "tags": ["\x02a\x03", "\x021\x03"]}
    assert m["file_id"] == "\x02f1\x03" and m["file_info"] == {"filename": "\x02x.mp4\x03"}


@pytest.mark.parametrize("flt,param", [
    ({"metadata": [{"path": "x", "operator": "Approx", "valueText": "1"}]}, "filter.metadata[0].operator"),
    ({"metadata": [{"path": "x", "operator": "LessThan", "valueText": "abc"}]}, "filter.metadata[0].valueText"),
    ({"metadata": [{"path": "x", "operator": "ContainsAny"}]}, "filter.metadata[0].valueTextArray"),
    ({"video_info": [{"path": "fps", "operator": "Equal", "valueText": "1"}]}, "filter.video_info[0].path"),
    ({"file": [{"path": "owner", "operator": "Equal", "valueText": "1"}]}, "filter.file[0].path"),
    ({"metadata": [{"path": "", "operator": "Equal", "valueText": "1"}]}, "filter.metadata[0].path"),
    ({"colour": []}, "filter"),
])
def test_invalid_filters_name_the_param(flt, param):
    with pytest.raises(InvalidRequest) as err:
        parse_filter(flt)
    assert err.value.param == param


def test_numeric_mirror_parses_numbers_and_bools_and_skips_text():
    mirror = numeric_mirror({"metadata": {"year": "2024", "name": "x", "n": 3, "flag": True, "tags": ["1", "a"]},
                             "segment_duration": 5.0})
    assert mirror["metadata"] == {"year": 2024.0, "n": 3.0, "flag": 1.0, "tags": [1.0]}
    assert mirror["segment_duration"] == 5.0
