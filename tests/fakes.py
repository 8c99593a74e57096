"""Fakes for unit tests of the logic around the models: retrieval, store views and a chat model."""

from __future__ import annotations

import numpy as np

from clipcite.domain import ScoredSegment, Segment, SpeechPart
from engine.generation import Generation


def segment(i: int, speech: str, screen: tuple[str, ...] = ()) -> Segment:
    return Segment(collection_id="c1", file_id="f1", segment_id=f"s{i}", index=i, start_time=20.0 * i,
                   end_time=20.0 * i + 20, speech=[SpeechPart(speech, 20.0 * i + 2, 20.0 * i + 6)],
                   scene_text=list(screen), file_info={"filename": "briefing.mp4"})


SEGMENTS = [segment(0, "Forklift drivers check the tyre pressure every Monday.", ("Badge code 4471",)),
            segment(1, "In an emergency leave through the north exit.", ("Exit B12",))]


class FakeEmbedder:
    related_floor = 0.3
    same_meaning_floor = None

    def embed_cached(self, texts, persist=True, query=False):
        return np.ones((len(texts), 4), dtype=np.float32) / 2.0


class FakeStore:
    def segments(self, flt, limit=10_000):
        return list(SEGMENTS)


class FakeRetriever:
    def __init__(self):
        self.embedder, self.store, self.calls = FakeEmbedder(), FakeStore(), []

    def retrieve(self, query, collections, flt=None, opts=None, file_ids=None):
        self.calls.append((query, collections, file_ids))
        return [ScoredSegment(s, 1.0 - 0.1 * i) for i, s in enumerate(SEGMENTS)]


class FakeGenerator:
    """Answers with a fixed text, counting words as tokens; records the messages it was given."""

    def __init__(self, reply: str, n_ctx: int = 4096):
        self.reply, self.n_ctx, self.seen = reply, n_ctx, []

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def unread(self, messages) -> None:
        return None  # unknown: the admission cost falls back to the fitted prompt's size

    def chat(self, messages, params):
        self.seen.append(messages)
        return Generation(self.reply, sum(self.count_tokens(m["content"]) for m in messages),
                          self.count_tokens(self.reply), "stop")

    def stream(self, messages, params):
        self.seen.append(messages)
        words = self.reply.split(" ")
        for i, w in enumerate(words):
            yield (w if i == 0 else " " + w), ("stop" if i == len(words) - 1 else None)
