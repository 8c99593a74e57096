"""Wire shapes: one model per shape is both the docs and the output; error types documented = emitted."""

from fastapi.routing import APIRoute

from api.errors import http_error_type
from api.responses import ErrorBody
from api.serialize import citation, timed_text, wire_json
from clipcite import errors as clipcite_errors
from clipcite.errors import ERROR_TYPES, ClipciteError
from engine.citations import from_lines
from engine.evidence import gather
from tests.unit.test_citations import SEGS


def test_wire_shape_has_cloudglue_fields():
    ev = gather("orders", SEGS[:1], None)
    (c,), _ = from_lines([ln for ln in ev.lines if ln.text.startswith("Orders")], ev, "Orders doubled.")
    wire = wire_json(citation(c))
    for key in ("collection_id", "file_id", "segment_id", "start_time", "end_time", "context", "relevant_sources",
                "speech", "scene_text", "visual_scene_description"):
        assert key in wire
    assert wire["segment_start_time"] == 10.0 and wire["segment_end_time"] == 20.0
    assert (wire["start_time"], wire["end_time"]) == (c.start_time, c.end_time) == (11.0, 17.0)  # its lines
    assert {s["text"] for s in wire["relevant_sources"]} >= {"scene_text"}


def test_timed_text_has_a_speaker_only_when_known():
    assert list(wire_json(timed_text("hi", 1.0, 2.0))) == ["text", "start_time", "end_time"]
    assert wire_json(timed_text("hi", 1.0, 2.0, "Dana")) == {"text": "hi", "start_time": 1.0, "end_time": 2.0,
                                                             "speaker": "Dana"}


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_documented_error_types_are_the_emitted_ones():
    emitted = {ClipciteError.error_type} | {c.error_type for c in _subclasses(ClipciteError)}
    emitted |= {http_error_type(code) for code in (400, 401, 404, 405, 409, 413, 422, 500, 503)}
    assert emitted <= set(ERROR_TYPES)
    assert {c.__module__ for c in _subclasses(ClipciteError)} == {clipcite_errors.__name__}
    documented = ErrorBody.model_json_schema()["properties"]["type"]["enum"]
    assert documented == list(ERROR_TYPES)
    # every documented type is emitted by something
    assert set(ERROR_TYPES) <= emitted


def test_every_json_route_declares_its_response_model():
    from api.app import create_app
    from clipcite.settings import Settings

    app = create_app(Settings())
    binary = {"segment_thumbnail", "transcript", "file_media", "metrics"}
    for route in app.routes:
        if isinstance(route, APIRoute) and route.include_in_schema and route.name not in binary:
            assert route.response_model is not None, route.path
            assert route.response_model_exclude_unset, route.path
