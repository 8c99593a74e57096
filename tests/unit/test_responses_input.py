"""Responses API input items as engine turns (no server): messages, developer text, function calls grouped
into one assistant turn, their outputs as tool turns, and an image's words joined to its message."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from api.image_queries import QueryImage
from api.protocol import ResponseRequest
from api.routers.responses import _input_items, _turns


def test_items_become_turns():
    body = ResponseRequest.model_validate({"model": "m", "input": [
        {"role": "developer", "content": "Be brief."},
        {"role": "user", "content": [{"type": "input_text", "text": "Where is this?"},
                                     {"type": "input_image", "image_url": "data:image/png;base64,AAAA"}]},
        {"type": "function_call", "call_id": "c1", "name": "lookup", "arguments": "{}"},
        {"type": "function_call", "call_id": "c2", "name": "lookup", "arguments": "{\"x\": 1}"},
        {"type": "function_call_output", "call_id": "c1", "output": "room 212"}]})
    images = {"data:image/png;base64,AAAA": QueryImage("Image text: EXIT B12", None)}
    turns = _turns(_input_items(body), images)
    assert [t.role for t in turns] == ["system", "user", "assistant", "tool"]
    assert turns[1].content == "Where is this?\nImage text: EXIT B12"
    assert [c.id for c in turns[2].tool_calls] == ["c1", "c2"]
    assert turns[3].content == "room 212" and turns[3].tool_call_id == "c1"


def test_a_string_input_is_one_user_message():
    body = ResponseRequest.model_validate({"input": "hello"})
    assert [(t.role, t.content) for t in _turns(_input_items(body), {})] == [("user", "hello")]


@pytest.mark.parametrize("body", [{"input": ""}, {"input": []}, {"input": "x", "stream": True, "background": True},
                                  {"input": "x", "background": True, "store": False},
                                  {"input": "x", "tools": [{"type": "web_search"}]},
                                  {"input": [{"type": "function_call", "name": "f"}]},
                                  {"input": "x", "text": {"format": {"type": "json_schema"}}},
                                  {"input": "x", "knowledge_base": {"source": "files"}}])
def test_bad_requests_are_refused(body):
    with pytest.raises(ValidationError):
        ResponseRequest.model_validate(body)
