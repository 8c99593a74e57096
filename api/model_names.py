"""The model ids the API answers to: the chat model's own names and the configured aliases (the ids the
SDKs' examples send: Cloudglue `nimbus-001`, BibiGPT `bibigpt` or `bibigpt/...`, VideoDB `gpt-4o-...`).
Every alias is answered by the one local chat model; an unknown id stays a 404 `model_not_found`."""

from __future__ import annotations

from api.services import Services
from clipcite.errors import NotFound


def listed(svc: Services) -> list[str]:
    """The ids `/v1/models` lists: the chat model first, then each alias (prefix patterns without `/*`), then
    the embedding model (for `/v1/embeddings`)."""
    s = svc.settings
    out = [s.chat_model]
    for alias in s.model_aliases:
        name = alias.removesuffix("/*")
        if name not in out:
            out.append(name)
    return [*out, s.embed_model] if s.embed_model not in out else out


def accepts(svc: Services, model: str) -> bool:
    s = svc.settings
    if model in (s.chat_model, svc.generator.model_path.stem, "clipcite"):
        return True
    return any(model == a or (a.endswith("/*") and model.startswith(a[:-1]) and len(model) > len(a) - 1)
               for a in s.model_aliases)


def require(svc: Services, model: str, param: str = "model") -> None:
    """404 `model_not_found` (OpenAI's code) for an id this server does not answer to."""
    if not accepts(svc, model):
        raise NotFound(f"model {model!r} not found; available: {listed(svc)}", param=param, code="model_not_found")
