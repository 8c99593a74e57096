"""Builds the long-lived components once (in the app's lifespan) and hands them to routes: the indexing
side from `ingest.runtime`, plus the chat stack (LLM, retriever, search, the model lease) on top."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from clipcite.settings import Settings
from engine.admission import ModelAccess
from engine.chat import ChatService
from engine.evidence import Budget
from engine.generation import LlamaGenerator
from engine.retrieval import CrossEncoderReranker, Retriever
from engine.search import SearchService
from ingest.readiness import Check
from ingest.runtime import IngestRuntime, build_ingest
from models.devices import DevicePlan
from models.registry import ModelRegistry

log = logging.getLogger(__name__)


@dataclass
class Services(IngestRuntime):
    generator: LlamaGenerator
    retriever: Retriever
    chat: ChatService
    search: SearchService
    # Every model caller (chat, streams, tools, summaries) takes the model through this one lease.
    model: ModelAccess

    def checks(self) -> list[Check]:
        """The server's start-up checks: the ingest models when it runs workers (else only the embedder,
        which embeds questions), then the chat model."""
        ingest = self.worker.checks if self.settings.run_worker else \
            [c for c in self.worker.checks if c.name == "embedding"]
        return [*ingest, chat_check(self.generator)] if ingest else []

    def close(self) -> None:
        self.model.close()  # live streams stop before their next token
        self.generator.close()
        super().close()


def chat_generator(settings: Settings, registry: ModelRegistry, devices: DevicePlan) -> LlamaGenerator:
    return LlamaGenerator(registry.resolve(settings.chat_model, "chat"), settings.chat_model, n_ctx=settings.n_ctx,
                          threads=devices.stage_threads.chat, threads_batch=devices.stage_threads.chat_batch,
                          n_gpu_layers=devices.llama_gpu_layers(settings.n_gpu_layers),
                          prompt_cache_bytes=settings.prompt_cache_mb << 20)


def chat_check(generator: LlamaGenerator) -> Check:
    return Check(f"chat ({generator.model_name})", ("llama-cpp-python",), generator.smoke)


def build_services(settings: Settings) -> Services:
    base = build_ingest(settings)
    devices, th = base.devices, base.devices.stage_threads
    generator = chat_generator(settings, base.registry, devices)
    reranker = CrossEncoderReranker(settings.reranker_model, devices.device, th.embed) \
        if settings.reranker_model else None
    retriever = Retriever(base.store, base.embedder, reranker, base.clip)
    return Services(**base.__dict__, generator=generator, retriever=retriever,
                    chat=ChatService(retriever, generator, base.catalog, settings.strict_grounding,
                                     settings.context_relative_floor,
                                     Budget(settings.evidence_lines, settings.evidence_chars)),
                    search=SearchService(retriever, base.catalog),
                    model=ModelAccess(settings.max_chat_in_flight, timeout=settings.request_timeout_seconds))
