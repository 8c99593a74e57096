"""FastAPI app factory: components are built once in the lifespan and live on `app.state.services`."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Callable, MutableMapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from api.deps import require_api_key
from api.errors import install_error_handlers
from api.limits import BodyLimit
from api.metrics import MetricsMiddleware, RequestMetrics, render
from api.responses import ChatCompletionChunk, ErrorResponse, ResponseStreamEvent, TranscriptJson, errors
from api.routers import (
    chat,
    collections,
    deep_search,
    describe,
    embeddings,
    extract,
    files,
    find_moments,
    frames,
    internal,
    responses,
    search,
    segmentations,
    system,
    tags,
    unsupported,
)
from api.services import Services, build_services
from clipcite.settings import Settings, load_settings
from ingest.jobs import owner_is_dead
from ingest.readiness import run_checks
from models.memory import cap_arenas, trim

HEAP_TRIM_SECONDS = 60.0

log = logging.getLogger(__name__)
WEB_DIR = Path(__file__).parent / "web"


def create_app(settings: Settings | None = None, services: Services | None = None,
               on_fatal: Callable[[list[str]], None] | None = None) -> FastAPI:
    """`on_fatal(messages)`: called when a start-up check fails (`clipcite serve` stops the server then);
    without it the server stays up, `degraded`, and its workers wait for the checks to pass."""
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        cap_arenas()  # before the thread pools allocate (models.memory)
        svc = services or build_services(settings)
        app.state.services = svc
        if failed := svc.catalog.stored.fail_unfinished("the server restarted before it finished", owner_is_dead):
            log.warning("%d background response(s) of the previous run marked failed", failed)
        if not settings.run_worker:
            log.info("API only: ingest jobs wait for `clipcite worker` processes on the same database")
        closing = threading.Event()
        starter = threading.Thread(target=_check_then_start, args=(svc, settings, closing, on_fatal),
                                   name="startup-checks", daemon=True)
        starter.start()
        threading.Thread(target=_trim_heap, args=(closing,), name="heap-trim", daemon=True).start()
        log.info("clipcite listening: data in %s, device %s", settings.resolved_data_dir, svc.devices.device)
        try:
            yield
        finally:
            closing.set()
            starter.join(120)  # a model half-loaded by the checks is not freed under their thread
            if services is None:
                svc.close()

    # An explicit JSONResponse keeps response_model output on `json.dumps` (FastAPI's default would write it
    # with pydantic's own JSON encoder, whose float spelling differs: 1e-06 vs 1e-6).
    app = FastAPI(title="Clipcite", version="0.1.0", lifespan=lifespan, default_response_class=JSONResponse,
                  description="Self-hosted video RAG with timestamped citations (OpenAI and Cloudglue compatible).",
                  docs_url=None, redoc_url=None, openapi_url=None)  # served below, behind the API key
    install_error_handlers(app)
    requests = RequestMetrics()
    app.add_middleware(MetricsMiddleware, metrics=requests)
    app.add_middleware(BodyLimit, limit_for=lambda scope: _body_limit(settings, scope))
    app.include_router(system.router)
    guarded = [Depends(require_api_key)]
    _docs(app, [] if settings.docs_public else guarded)
    routers = (files, frames, collections, chat, responses, embeddings, describe, extract, find_moments, segmentations,
               search, deep_search, tags, unsupported, internal)
    for r in (m.router for m in routers):
        app.include_router(r, prefix="/v1", dependencies=guarded, responses=errors(401))

    @app.get("/metrics", summary="Prometheus metrics (jobs, segments, seconds indexed, latency, model loads)",
             tags=["system"], response_class=PlainTextResponse, dependencies=guarded, responses=errors(401))
    def metrics() -> PlainTextResponse:
        return PlainTextResponse(render(app.state.services, requests), media_type="text/plain; version=0.0.4")

    @app.get("/", include_in_schema=False)
    def index() -> RedirectResponse:
        return RedirectResponse("/ui/")

    # The web page is static files shipped in the package: no CDN, so it works air-gapped. It holds no
    # data itself; every call it makes goes through the guarded /v1 API.
    app.mount("/ui", StaticFiles(directory=WEB_DIR, html=True), name="ui")
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]  # FastAPI's documented override
    return app


def _body_limit(settings: Settings, scope: MutableMapping[str, Any]) -> int:
    """An upload may be as large as `max_upload_bytes` (plus its multipart framing); the owner of the
    embedded store receives workers' point batches (64 points with their vectors); the rest are JSON."""
    path, method = scope.get("path", ""), scope.get("method", "")
    if method == "POST" and path == "/v1/files":
        return settings.max_upload_bytes + 1024 * 1024
    if path.startswith("/v1/internal/"):
        return max(settings.max_request_bytes, 256 * 1024 * 1024)
    return settings.max_request_bytes


def _docs(app: FastAPI, dependencies: list) -> None:
    """/openapi.json, /docs and /redoc: behind the API key when keys are set, unless `docs_public`."""
    from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html

    @app.get("/openapi.json", include_in_schema=False, dependencies=dependencies)
    def openapi_json() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False, dependencies=dependencies)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="Clipcite API")

    @app.get("/redoc", include_in_schema=False, dependencies=dependencies)
    def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url="/openapi.json", title="Clipcite API")


def _trim_heap(closing: threading.Event) -> None:
    """Free heap back to the system once a minute (request bodies, tokenizer and embedding buffers)."""
    while not closing.wait(HEAP_TRIM_SECONDS):
        trim()


def _check_then_start(svc: Services, settings: Settings, closing: threading.Event,
                      on_fatal: Callable[[list[str]], None] | None) -> None:
    """The start-up checks in the background (the server answers meanwhile, `/health` says `starting`),
    then the ingest workers: none is claimed before every model has loaded and run once."""
    checks = svc.checks()
    if checks:
        results = run_checks(checks) if not closing.is_set() else []
        if closing.is_set():
            return
        if not svc.readiness.record(results):
            for r in results:
                if not r.ok:
                    log.error("start-up check failed: %s", r.message)
            if on_fatal is not None:
                on_fatal([r.message for r in results if not r.ok])
                return
        else:
            log.info("start-up checks passed: %s", ", ".join(f"{r.name} {r.seconds:.1f}s" for r in results))
    if settings.run_worker and not closing.is_set():
        svc.worker.start()


def _openapi(app: FastAPI) -> dict:
    """FastAPI documents request validation failures as 422 HTTPValidationError; this API answers them with
    400 in the one error shape (already documented per route), so those entries are dropped."""
    if app.openapi_schema is None:
        from fastapi.openapi.utils import get_openapi
        from pydantic.json_schema import models_json_schema

        spec = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        for ops in spec.get("paths", {}).values():
            for op in ops.values():
                resp = op.get("responses", {})
                ref = str(resp.get("422", {}).get("content", {}).get("application/json", {}).get("schema", {}))
                if "HTTPValidationError" in ref:
                    del resp["422"]
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        # Shapes referenced only from hand-written response entries (the JSON transcript, stream chunks).
        _, extra = models_json_schema([(TranscriptJson, "serialization"), (ErrorResponse, "serialization"),
                                       (ChatCompletionChunk, "serialization"), (ResponseStreamEvent, "serialization")],
                                      ref_template="#/components/schemas/{model}")
        schemas.update(extra.get("$defs", {}))
        app.openapi_schema = spec
    return app.openapi_schema
