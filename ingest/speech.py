"""Speech with word timestamps via faster-whisper (CTranslate2), VAD on.

Returns `SpeechSpan`s plus the `SpeechOptions` that made them, so every stored transcript records the
model and settings behind it (faster-whisper returns its options with the result for the same reason).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from clipcite.domain import SpeechSpan, Word
from clipcite.errors import MediaError
from models.loading import Lazy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SpeechOptions:
    model: str
    device: str
    compute_type: str
    language: str | None
    beam_size: int = 1
    vad_filter: bool = True
    word_timestamps: bool = True
    batch_size: int = 0  # >0: BatchedInferencePipeline (VAD chunks decoded in batches; pays off on GPUs)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class SpeechResult:
    spans: list[SpeechSpan]
    language: str | None
    options: SpeechOptions


class WhisperTranscriber:
    """One CTranslate2 model, loaded on first use; calls are serialised (the model is not re-entrant
    across our thread budget)."""

    def __init__(self, model_path: Path, model_name: str, device: str = "cpu", compute_type: str = "int8",
                 threads: int = 1, language: str | None = None, batch_size: int = 0, beam_size: int = 1) -> None:
        self.model_path = Path(model_path)
        self.options = SpeechOptions(model=model_name, device=device, compute_type=compute_type,
                                     language=language or ("en" if model_name.endswith(".en") else None),
                                     beam_size=beam_size, batch_size=batch_size)
        self.threads = threads
        self._model = Lazy("speech", self._build, "pip install faster-whisper")
        self._lock = threading.Lock()

    def _build(self):
        from faster_whisper import WhisperModel

        log.info("loading whisper %s on %s/%s", self.options.model, self.options.device, self.options.compute_type)
        return WhisperModel(str(self.model_path), device=self.options.device, compute_type=self.options.compute_type,
                            cpu_threads=self.threads, local_files_only=True)

    def _load(self):
        return self._model.get()

    def transcribe(self, path: Path, on_progress: Callable[[float], None] | None = None) -> SpeechResult:
        """`on_progress(seconds)` is called with the end time of each decoded segment (for live progress)."""
        with self._lock:
            model = self._load()
            try:
                kwargs = dict(language=self.options.language, beam_size=self.options.beam_size,
                              vad_filter=self.options.vad_filter, word_timestamps=self.options.word_timestamps,
                              condition_on_previous_text=False)
                if self.options.batch_size > 0:
                    from faster_whisper import BatchedInferencePipeline

                    segments, info = BatchedInferencePipeline(model).transcribe(
                        str(path), batch_size=self.options.batch_size, **kwargs)
                else:
                    segments, info = model.transcribe(str(path), **kwargs)
                spans = []
                for s in segments:  # a generator: decoding happens as it is consumed
                    if on_progress is not None:
                        on_progress(s.end)
                    if not s.text.strip():
                        continue
                    spans.append(SpeechSpan(
                        text=s.text.strip(), start=round(s.start, 3), end=round(s.end, 3),
                        words=tuple(Word(w.word.strip(), round(w.start, 3), round(w.end, 3)) for w in (s.words or [])),
                    ))
            except Exception as exc:  # corrupt audio streams surface here as decoder errors
                raise MediaError(f"audio could not be decoded: {type(exc).__name__}: {exc}") from exc
        return SpeechResult(spans=spans, language=getattr(info, "language", None), options=self.options)
