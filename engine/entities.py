"""Structured extraction (Cloudglue `extract`): entities from a video's segments as JSON that is valid by
construction (llama.cpp turns the JSON schema, or "any JSON object" for a prompt alone, into a grammar).

Segment level: one call per segment, its entities timed as the segment. Video level: the segments in
chunks that fit the context, each chunk's entities merged (lists joined without repeats, the first value
kept for the rest), so a long video costs one call per chunk rather than a context overflow. What the model
is shown is what answers see (speech, on-screen text, picture labels; speech alone in transcript mode).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from clipcite.domain import Segment
from engine.generation import GenerationParams, TextGenerator
from engine.prompting import fmt_time
from engine.schemas import empty_instance
from engine.summary import _segment_text, pack

log = logging.getLogger(__name__)

SYSTEM = ("You extract structured data from a video. Reply with one JSON object holding only what the video "
          "content below says; leave out (or use empty lists for) anything it does not contain. Never invent "
          "values.")


@dataclass
class Entities:
    video: dict[str, Any] | None = None
    segments: list[tuple[Segment, dict[str, Any]]] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0


def _content(segments: list[Segment], transcript_only: bool, budget: int = 900) -> str:
    lines = []
    for s in segments:
        text = s.speech_text if transcript_only else _segment_text(s, budget)
        if text.strip():
            lines.append(f"[{fmt_time(s.start_time)}-{fmt_time(s.end_time)}] {text}")
    return "\n".join(lines)


def merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Entities of two chunks as one: lists joined (each item once), objects merged, the first non-empty
    scalar kept."""
    out = dict(a)
    for k, v in b.items():
        if k not in out or out[k] in (None, "", [], {}):
            out[k] = v
        elif isinstance(out[k], list) and isinstance(v, list):
            seen = {json.dumps(x, sort_keys=True) for x in out[k]}
            out[k] = out[k] + [x for x in v if json.dumps(x, sort_keys=True) not in seen]
        elif isinstance(out[k], dict) and isinstance(v, dict):
            out[k] = merge(out[k], v)
    return out


class EntityExtractor:
    def __init__(self, generator: TextGenerator, max_tokens: int = 384) -> None:
        self.generator = generator
        self.max_tokens = max_tokens

    def _call(self, task: str, content: str, schema: dict[str, Any] | None, out: Entities) -> dict[str, Any]:
        # The schema is fitted to max_tokens where it is generated (engine.generation).
        fmt: dict[str, Any] = {"type": "json_object", "schema": schema} if schema else {"type": "json_object"}
        gen = self.generator.chat([{"role": "system", "content": SYSTEM},
                                   {"role": "user", "content": f"{task}\n\nVideo content:\n{content}"}],
                                  GenerationParams(max_tokens=self.max_tokens, temperature=0.0, response_format=fmt))
        out.prompt_tokens += gen.prompt_tokens
        out.completion_tokens += gen.completion_tokens
        try:
            data = json.loads(gen.text)
        except json.JSONDecodeError:  # cut off at max_tokens: the grammar's object is unfinished
            log.info("extraction reply is not complete JSON (%s): %r", gen.finish_reason, gen.text[-120:])
            return empty_instance(schema) if schema else {}
        return data if isinstance(data, dict) else {"value": data}

    def from_text(self, text: str, prompt: str | None, schema: dict[str, Any] | None) -> Entities:
        """Video-level entities from a text about the file (metadata mode: its name and metadata)."""
        out = Entities()
        out.video = self._call(prompt or "Extract the data described by the JSON schema.", text, schema, out)
        return out

    def extract(self, segments: list[Segment], prompt: str | None, schema: dict[str, Any] | None,
                video_level: bool, segment_level: bool, transcript_only: bool = False) -> Entities:
        task = prompt or "Extract the data described by the JSON schema."
        if schema and prompt:
            task = f"{prompt}\nFollow the JSON schema."
        out = Entities()
        ordered = sorted(segments, key=lambda s: s.start_time)
        if segment_level:
            for seg in ordered:
                content = _content([seg], transcript_only)
                nothing = empty_instance(schema) if schema else {}
                out.segments.append((seg, self._call(task, content, schema, out) if content else nothing))
        if video_level:
            merged: dict[str, Any] = {}
            for chunk in pack(ordered, chunk_chars=2400):
                content = _content(chunk, transcript_only)
                if content:
                    merged = merge(merged, self._call(task, content, schema, out))
            out.video = merged or (empty_instance(schema) if schema else {})
        return out
