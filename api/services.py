"""Builds the long-lived components once (in the app's lifespan) and hands them to routes: the indexing
side from `ingest.runtime`, plus the chat stack (LLM, retriever, search, the model lease) on top."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from clipcite.settings import Settings
from engine.admission import ModelAccess
from engine.chat import ChatService
from engine.generation import LlamaGenerator
from engine.retrieval import CrossEncoderReranker, Retriever
from engine.search import SearchService
from ingest.runtime import IngestRuntime, build_ingest

log = logging.getLogger(__name__)


@dataclass
class Services(IngestRuntime):
    generator: LlamaGenerator
    retriever: Retriever
    chat: ChatService
    search: SearchService
    # Every model caller (chat, streams, tools, summaries) takes the model through this one lease.
    model: ModelAccess

    def close(self) -> None:
        self.model.close()  # live streams stop before their next token
        self.generator.close()
        super().close()


def build_services(settings: Settings) -> Services:
    base = build_ingest(settings)
    devices, th = base.devices, base.devices.stage_threads
    generator = LlamaGenerator(base.registry.resolve(settings.chat_model, "chat"), settings.chat_model,
                               n_ctx=settings.n_ctx, threads=th.chat,
                               n_gpu_layers=devices.llama_gpu_layers(settings.n_gpu_layers))
    reranker = CrossEncoderReranker(settings.reranker_model, devices.device, th.embed) \
        if settings.reranker_model else None
    retriever = Retriever(base.store, base.embedder, reranker, base.clip)
    return Services(**base.__dict__, generator=generator, retriever=retriever,
                    chat=ChatService(retriever, generator, base.catalog, settings.context_chars_per_segment,
                                     settings.strict_grounding, settings.context_relative_floor),
                    search=SearchService(retriever, base.catalog), model=ModelAccess(settings.max_chat_in_flight))
