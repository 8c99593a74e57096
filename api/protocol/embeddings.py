"""OpenAI's embeddings request."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from api.protocol.common import LenientModel


class EmbeddingRequest(LenientModel):
    """OpenAI's `/v1/embeddings`: `model` is the server's embedding model (`CLIPCITE_EMBED_MODEL`)."""

    input: str | list[str] = Field(description="a text or a list of texts (token arrays are not accepted)")
    model: str
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(None, ge=1)
    user: str | None = None
    # --- extension: e5-style models embed questions and passages differently ---
    input_type: Literal["passage", "query"] = Field(
        "passage", description="query: embed the texts as search questions (e5's `query:`); passage: as documents")

    @model_validator(mode="after")
    def _texts(self) -> EmbeddingRequest:
        texts = [self.input] if isinstance(self.input, str) else self.input
        if not texts or len(texts) > 2048:
            raise ValueError("input must hold 1 to 2048 texts")
        if any(not t for t in texts):
            raise ValueError("input texts must not be empty")
        return self

    def texts(self) -> list[str]:
        return [self.input] if isinstance(self.input, str) else list(self.input)
