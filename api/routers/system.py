"""Health and model listing."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api import model_names
from api.deps import ServicesDep, require_api_key
from api.responses import Health, ModelList, ModelObject, errors

router = APIRouter(tags=["system"])


@router.get("/health", summary="Liveness, readiness of the models and queue depth (no auth)",
            response_model=Health, response_model_exclude_unset=True)
def health(svc: ServicesDep) -> Health:
    ready = svc.readiness
    reasons = list(ready.reasons)
    if overdue := svc.model.overdue():
        reasons.append(f"the chat model has been held {overdue:.0f} s past the request deadline")
    out = Health(status="degraded" if reasons else ready.state, queue_depth=svc.catalog.jobs.depth(),
                 segments=svc.store.count(), device=svc.devices.device)
    if reasons:
        out.reasons = reasons
    return out


def _model(model_id: str) -> ModelObject:
    return ModelObject(id=model_id, object="model", created=0, owned_by="clipcite")


@router.get("/v1/models", summary="Models this server answers with", dependencies=[Depends(require_api_key)],
            response_model=ModelList, response_model_exclude_unset=True, responses=errors(401))
def list_models(svc: ServicesDep) -> ModelList:
    return ModelList(object="list", data=[_model(i) for i in model_names.listed(svc)])


@router.get("/v1/models/{model_id}", summary="One model", dependencies=[Depends(require_api_key)],
            response_model=ModelObject, response_model_exclude_unset=True, responses=errors(401, 404))
def get_model(svc: ServicesDep, model_id: str) -> ModelObject:
    model_names.require(svc, model_id)
    return _model(model_id)
