"""Deep search's logic around the model: plans (the request first, repeats dropped), reciprocal-rank
fusion of the planned searches, explanations attached, an unsupported synthesis replaced by a listing."""

from __future__ import annotations

import json

from clipcite.domain import ScoredSegment
from engine.deep_search import DeepSearcher
from engine.generation import Generation
from engine.search import SearchQuery
from tests.fakes import segment

SEGS = {i: segment(i, text) for i, text in enumerate(["leave by the north exit", "tyre pressure on monday",
                                                      "welcome to the briefing"])}


class FakeSearch:
    def __init__(self):
        self.queries = []

    def segments(self, q):
        self.queries.append(q.query)
        order = {"exit": [0, 2], "emergency exit": [0], "way out": [2, 0]}.get(q.query, [1])
        return [ScoredSegment(SEGS[i], 1.0 - 0.1 * r) for r, i in enumerate(order)]


class Replies:
    def __init__(self, *texts):
        self.texts = list(texts)

    def chat(self, messages, params):
        return Generation(text=self.texts.pop(0), prompt_tokens=3, completion_tokens=2, finish_reason="stop")


def test_plans_fuse_by_rank_and_explanations_attach():
    search = FakeSearch()
    gen = Replies(json.dumps({"queries": ["emergency exit", "EXIT", "way out"]}),
                  json.dumps({"synthesis": "Staff leave by the north exit.",
                              "moments": [{"why": "says where to leave", "weak": False},
                                          {"why": "a greeting", "weak": True}]}))
    out = DeepSearcher(search, gen).run(SearchQuery("exit", ["c"], limit=2), exclude_weak=True)
    assert search.queries == ["exit", "emergency exit", "way out"]  # "EXIT" repeats the request
    assert [r.hit.segment.segment_id for r in out.results] == [SEGS[0].segment_id]  # the weak one excluded
    assert out.results[0].score == 1 and out.results[0].context == "says where to leave"
    assert out.text == "Staff leave by the north exit." and out.search_calls == 3


def test_a_synthesis_the_results_do_not_support_becomes_a_listing():
    gen = Replies(json.dumps({"queries": []}),
                  json.dumps({"synthesis": "Fire drills happen every Friday at noon.",
                              "moments": [{"why": "x", "weak": False}]}))
    out = DeepSearcher(FakeSearch(), gen).run(SearchQuery("tyres", ["c"], limit=1))
    assert out.text.startswith("Best matches: ") and "tyre pressure" in out.text
