"""Response shapes: one pydantic model per wire shape, used both for the OpenAPI document (`/docs`,
`/openapi.json`) and as the routes' `response_model=` (vLLM's `protocol.py`), so docs and output come
from one class and cannot drift. The `cloudglue` and `openai` SDK models are the contract; the builders
in `api.serialize` fill these models, and the API fuzz test checks every response against the schema.
"""

from api.responses.chat import (
    CHAT_RESPONSES,
    AssistantMessage,
    ChatChoice,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionList,
    ChunkChoice,
    Citation,
    Delta,
    Grounding,
    RelevantSource,
    ToolCall,
    ToolCallFunction,
    ToolCitationOut,
    Usage,
)
from api.responses.common import Deleted, ErrorBody, ErrorResponse, Page, TimedText, Wire, errors
from api.responses.embeddings import EmbeddingList, EmbeddingObject, EmbeddingUsage
from api.responses.files import (
    ChapterOut,
    CollectionFileList,
    CollectionFileObject,
    CollectionList,
    CollectionObject,
    FileList,
    FileObject,
    MediaDescription,
    MediaDescriptionData,
    MediaDescriptionItem,
    MediaDescriptionList,
    MediaInfoOut,
    Progress,
    RemovedCollectionFile,
    Segmentation,
    SegmentList,
    SegmentObject,
    SegmentSummary,
    TranscriptJson,
    TranscriptLine,
    TranscriptWord,
    VideoInfoOut,
    VideoSummary,
)
from api.responses.jobs import (
    ExtractJob,
    ExtractList,
    FindMomentsDeleted,
    FindMomentsJob,
    FindMomentsList,
    JobDeleted,
    MediaJob,
    MediaJobConfig,
    MediaJobData,
    MediaJobList,
    PartOut,
    SegmentationList,
    SegmentationObject,
)
from api.responses.responses_api import (
    RESPONSE_RESPONSES,
    FunctionCallItem,
    InputItem,
    InputItemList,
    OutputMessage,
    OutputText,
    ResponseAnnotation,
    ResponseDeleted,
    ResponseErrorOut,
    ResponseList,
    ResponseListItem,
    ResponseObject,
    ResponseStreamEvent,
    ResponseUsage,
)
from api.responses.search import FileResult, SearchList, SearchResponse, SearchResult, SegmentGroup, SegmentResult
from api.responses.system import Health, ModelList, ModelObject
from api.responses.tags import TagDeleted, TagList, TagObject

__all__ = [
    "CHAT_RESPONSES", "RESPONSE_RESPONSES", "AssistantMessage", "EmbeddingList", "EmbeddingObject", "EmbeddingUsage",
    "Grounding", "ToolCitationOut",
    "ChapterOut", "ChatChoice", "ChatCompletion",
    "ChatCompletionChunk", "ChatCompletionList", "ChunkChoice", "Citation", "CollectionFileList",
    "CollectionFileObject", "CollectionList", "CollectionObject", "Deleted", "Delta", "ErrorBody", "ErrorResponse",
    "ExtractJob", "ExtractList", "FileList", "FileObject", "FileResult", "FindMomentsDeleted", "FindMomentsJob",
    "FindMomentsList", "FunctionCallItem", "Health", "InputItem", "InputItemList", "JobDeleted", "MediaDescription",
    "MediaDescriptionData", "MediaDescriptionItem", "MediaDescriptionList", "MediaInfoOut", "MediaJob",
    "MediaJobConfig", "MediaJobData", "MediaJobList", "ModelList", "ModelObject", "OutputMessage", "OutputText",
    "Page", "PartOut", "Progress", "RelevantSource", "RemovedCollectionFile", "ResponseAnnotation", "ResponseDeleted",
    "ResponseErrorOut", "ResponseList", "ResponseListItem", "ResponseObject", "ResponseStreamEvent", "ResponseUsage",
    "SearchList", "SearchResponse", "SearchResult", "SegmentGroup", "SegmentList", "SegmentObject", "SegmentResult",
    "SegmentSummary", "Segmentation", "SegmentationList", "SegmentationObject", "TimedText", "ToolCall",
    "ToolCallFunction", "TranscriptJson", "TranscriptLine", "TranscriptWord", "Usage", "VideoInfoOut", "VideoSummary",
    "Wire", "errors", "TagDeleted", "TagList", "TagObject",
]
