"""OpenAI's embeddings list (`client.embeddings.create`)."""

from __future__ import annotations

from typing import Literal

from api.responses.common import Wire


class EmbeddingObject(Wire):
    object: Literal["embedding"]
    index: int
    embedding: list[float] | str  # base64 of little-endian float32 when encoding_format is base64


class EmbeddingUsage(Wire):
    prompt_tokens: int
    total_tokens: int


class EmbeddingList(Wire):
    object: Literal["list"]
    data: list[EmbeddingObject]
    model: str
    usage: EmbeddingUsage
