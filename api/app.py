"""FastAPI app factory: components are built once in the lifespan and live on `app.state.services`."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from typing import AsyncIterator

from fastapi import Depends, FastAPI

from api.deps import require_api_key
from api.errors import install_error_handlers
from api.routers import chat, collections, files, search, system
from api.services import Services, build_services
from clipcite.settings import Settings, load_settings

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        svc = services or build_services(settings)
        app.state.services = svc
        svc.worker.start()
        log.info("clipcite ready: data in %s, device %s", settings.resolved_data_dir, svc.devices.device)
        try:
            yield
        finally:
            if services is None:
                svc.close()

    app = FastAPI(title="Clipcite", version="0.1.0", lifespan=lifespan,
                  description="Self-hosted video RAG with timestamped citations (OpenAI and Cloudglue compatible).")
    install_error_handlers(app)
    app.include_router(system.router)
    guarded = [Depends(require_api_key)]
    for r in (files.router, collections.router, chat.router, search.router):
        app.include_router(r, prefix="/v1", dependencies=guarded)
    return app
