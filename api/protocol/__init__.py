"""Wire types (pydantic) for requests, one module per feature like the routers.

Unknown fields are tolerated and logged (clients send vendor extras); values that are present but
wrong are rejected with `param` naming the field.
"""

from __future__ import annotations

from api.protocol.chat import (
    LOGPROBS_DOC,
    ChatCompletionRequest,
    ChatMessageIn,
    ContentPart,
    FunctionCallIn,
    FunctionDef,
    JsonSchemaFormat,
    ResponseFormat,
    StreamOptions,
    ToolCallIn,
    ToolDef,
    no_logprobs,
)
from api.protocol.common import LenientModel, day_ms
from api.protocol.embeddings import EmbeddingRequest
from api.protocol.internal import SegmentBatch, WirePoint, WireSparse
from api.protocol.jobs import (
    FrameUniformConfig,
    MomentCriterionIn,
    MomentScoring,
    NewExtract,
    NewFindMoments,
    NewFrameExtraction,
    NewMediaJob,
    NewSegmentation,
    Participant,
    SpeakerFilterIn,
)
from api.protocol.library import AddCollectionFile, CollectionUpdate, FileUpdate, NewCollection, SegmentUpdate
from api.protocol.responses_api import (
    KnowledgeBase,
    ResponseInputItem,
    ResponseInputPart,
    ResponseRequest,
    ResponseText,
    ResponseTextFormat,
    ResponseTool,
)
from api.protocol.search import DeepSearchKnowledgeBase, NewDeepSearch, SearchRequest
from api.protocol.tags import NewTag, TagUpdate

__all__ = [
    "AddCollectionFile",
    "ChatCompletionRequest",
    "ChatMessageIn",
    "CollectionUpdate",
    "ContentPart",
    "DeepSearchKnowledgeBase",
    "EmbeddingRequest",
    "FileUpdate",
    "FrameUniformConfig",
    "FunctionCallIn",
    "FunctionDef",
    "JsonSchemaFormat",
    "KnowledgeBase",
    "LOGPROBS_DOC",
    "LenientModel",
    "MomentCriterionIn",
    "MomentScoring",
    "NewCollection",
    "NewDeepSearch",
    "NewExtract",
    "NewFindMoments",
    "NewFrameExtraction",
    "NewMediaJob",
    "NewSegmentation",
    "NewTag",
    "Participant",
    "ResponseFormat",
    "ResponseInputItem",
    "ResponseInputPart",
    "ResponseRequest",
    "ResponseText",
    "ResponseTextFormat",
    "ResponseTool",
    "SearchRequest",
    "SegmentBatch",
    "SegmentUpdate",
    "SpeakerFilterIn",
    "StreamOptions",
    "TagUpdate",
    "ToolCallIn",
    "ToolDef",
    "WirePoint",
    "WireSparse",
    "day_ms",
    "no_logprobs",
]
