"""OpenAI's `/v1/embeddings` on the server's own embedder (the one that indexes segments), so LangChain or
LlamaIndex pipelines can use the same server for their vectors."""

from __future__ import annotations

import base64

import numpy as np
from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from api.deps import ServicesDep
from api.protocol import EmbeddingRequest
from api.responses import EmbeddingList, EmbeddingObject, EmbeddingUsage, errors
from clipcite.errors import InvalidRequest, NotFound

router = APIRouter(tags=["embeddings"])


@router.post("/embeddings", summary="Embed texts with the server's embedding model (OpenAI embeddings)",
             response_model=EmbeddingList, responses=errors(400, 404))
async def create_embeddings(svc: ServicesDep, body: EmbeddingRequest) -> EmbeddingList:
    name = svc.settings.embed_model
    if body.model not in (name, svc.embedder.name):
        raise NotFound(f"model {body.model!r} not found; the embedding model is {name!r}", param="model",
                       code="model_not_found")
    texts = body.texts()
    query = body.input_type == "query"
    vectors, tokens = await run_in_threadpool(_embed, svc, texts, query)
    if body.dimensions is not None and body.dimensions != vectors.shape[1]:
        raise InvalidRequest(f"{name} makes {vectors.shape[1]}-dimensional vectors; dimensions cannot change that",
                             param="dimensions")
    data = [EmbeddingObject(object="embedding", index=i,
                            embedding=base64.b64encode(v.astype("<f4").tobytes()).decode()
                            if body.encoding_format == "base64" else [float(x) for x in v])
            for i, v in enumerate(vectors)]
    return EmbeddingList(object="list", data=data, model=body.model,
                         usage=EmbeddingUsage(prompt_tokens=tokens, total_tokens=tokens))


def _embed(svc, texts: list[str], query: bool) -> tuple[np.ndarray, int]:
    embedder = svc.embedder
    vectors = embedder.embed_query(texts) if query else embedder.embed(texts)
    return vectors, embedder.count_tokens(texts, query)
