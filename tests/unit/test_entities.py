"""Structured extraction's JSON logic: bounded schemas, the least valid instance, chunk merging, and the
extractor's calls (a fake generator stands in for llama.cpp's grammar-constrained replies)."""

from __future__ import annotations

import json

import jsonschema

from engine.entities import EntityExtractor, merge
from engine.generation import Generation
from engine.schemas import bounded, empty_instance
from tests.fakes import segment

SCHEMA = {"type": "object", "properties": {"names": {"type": "array", "items": {"type": "string"}},
                                           "kind": {"type": "string", "enum": ["talk", "demo"]},
                                           "place": {"type": "object", "properties": {"city": {"type": "string"}},
                                                     "required": ["city"]}},
          "required": ["names", "kind", "place"]}


def test_bounded_limits_only_what_is_unbounded():
    b = bounded(SCHEMA)
    assert b["properties"]["names"]["maxItems"] == 8
    assert b["properties"]["names"]["items"]["maxLength"] == 300
    assert "maxLength" not in b["properties"]["kind"]  # an enum is bounded already
    assert bounded({"type": "array", "maxItems": 2})["maxItems"] == 2


def test_empty_instance_is_valid():
    jsonschema.validate(empty_instance(SCHEMA), SCHEMA)
    assert empty_instance(SCHEMA) == {"names": [], "kind": "talk", "place": {"city": ""}}


def test_merge_joins_lists_once_and_keeps_first_values():
    a = {"names": ["Ana"], "kind": "talk", "place": {"city": ""}}
    b = {"names": ["Ana", "Ben"], "kind": "demo", "place": {"city": "Oslo"}}
    assert merge(a, b) == {"names": ["Ana", "Ben"], "kind": "talk", "place": {"city": "Oslo"}}


class ReplyGenerator:
    def __init__(self, replies):
        self.replies = list(replies)
        self.prompts = []

    def chat(self, messages, params):
        self.prompts.append(messages[-1]["content"])
        text = self.replies.pop(0)
        return Generation(text=text, prompt_tokens=10, completion_tokens=5, finish_reason="stop")


def test_segment_level_calls_once_per_segment_and_survives_a_cut_reply():
    gen = ReplyGenerator([json.dumps({"names": ["Ana"], "kind": "talk", "place": {"city": "Oslo"}}),
                          '{"names": ["Ben", "Be'])
    segs = [segment(0, "Ana talks in Oslo"), segment(1, "Ben demos")]
    out = EntityExtractor(gen).extract(segs, "people", SCHEMA, video_level=False, segment_level=True)
    assert [e for _, e in out.segments] == [{"names": ["Ana"], "kind": "talk", "place": {"city": "Oslo"}},
                                            empty_instance(SCHEMA)]
    assert "Ana talks in Oslo" in gen.prompts[0] and out.prompt_tokens == 20
