"""Health and model listing."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from api.deps import ServicesDep, require_api_key
from api.responses import Health, ModelList, ModelObject, errors

router = APIRouter(tags=["system"])


@router.get("/health", summary="Liveness and queue depth (no auth)",
            responses={200: {"model": Health}})
def health(svc: ServicesDep) -> dict[str, Any]:
    return {"status": "ok", "queue_depth": svc.catalog.jobs.depth(), "segments": svc.store.count(),
            "device": svc.devices.device}


@router.get("/v1/models", summary="Models this server answers with", dependencies=[Depends(require_api_key)],
            responses={200: {"model": ModelList}, **errors(401)})
def list_models(svc: ServicesDep) -> dict[str, Any]:
    s = svc.settings
    ids = [s.chat_model, s.chat_model_alias]
    return {"object": "list", "data": [{"id": i, "object": "model", "created": 0, "owned_by": "clipcite"} for i in ids]}


@router.get("/v1/models/{model_id}", summary="One model", dependencies=[Depends(require_api_key)],
            responses={200: {"model": ModelObject}, **errors(401, 404)})
def get_model(svc: ServicesDep, model_id: str) -> dict[str, Any]:
    from clipcite.errors import NotFound

    s = svc.settings
    if model_id not in (s.chat_model, s.chat_model_alias):
        raise NotFound(f"model {model_id!r} not found", param="model", code="model_not_found")
    return {"id": model_id, "object": "model", "created": 0, "owned_by": "clipcite"}
