"""Speech with word timestamps via faster-whisper (CTranslate2), VAD on; the language identified first.

Returns `SpeechSpan`s plus the `SpeechOptions` that made them, so every stored transcript records the
model and settings behind it (faster-whisper returns its options with the result for the same reason).

Why route by language: tiny.en is the fastest model on a CPU but writes Spanish speech as English-sounding
nonsense that no later stage can repair; the multilingual model (base) is 2x slower. So a file's language is
identified first (Whisper's language head on a few 30-s windows of speech: one encoder pass each), English
goes to the fast English model and everything else to the multilingual one.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

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
class Confidence:
    """How sure the recogniser was of what it wrote: the evidence that an English model heard English."""

    words: int = 0
    mean_word_probability: float = 0.0
    min_avg_logprob: float = 0.0  # the least sure 30-s window
    max_compression_ratio: float = 0.0  # the most repetitive window (a decoding loop)
    complete: bool = True  # False: a probe that stopped at a window it was unsure of

    def heard_its_language(self) -> bool:
        """English speech through tiny.en: mean word probability 0.79-0.89, window log-probability -0.27 to
        -0.57 (dev corpus, 11 files); Spanish, German, French and Mandarin speech: 0.31-0.55 and -1.06 to
        -1.94, English-sounding nonsense. Every window also passes faster-whisper's own fallback thresholds
        (log-probability -1.0, compression 2.4), so the greedy pass wrote what the default decoding would."""
        return (self.complete and self.words >= PROBE_MIN_WORDS
                and self.mean_word_probability >= PROBE_MIN_WORD_PROBABILITY
                and self.min_avg_logprob >= FALLBACK_LOGPROB and self.max_compression_ratio <= FALLBACK_COMPRESSION)


@dataclass(frozen=True)
class SpeechResult:
    spans: list[SpeechSpan]
    language: str | None
    options: SpeechOptions
    languages: tuple[str, ...] = ()  # every language identified in the file's stretches, main one first
    confidence: Confidence = Confidence()


@dataclass(frozen=True)
class LanguageGuess:
    language: str | None  # None: no speech found to judge
    probability: float
    stretches: tuple[tuple[float, str, float], ...] = ()  # (window start s, language, probability)

    @property
    def languages(self) -> tuple[str, ...]:
        """The main language, then any other one a stretch was confidently in."""
        others = [lang for _, lang, p in self.stretches if lang != self.language and p >= MIXED_MIN_PROBABILITY]
        return tuple(dict.fromkeys(([self.language] if self.language else []) + others))


WINDOW_SECONDS = 30.0  # Whisper's input length
SAMPLE_RATE = 16000
LONG_FILE_SECONDS = 600.0
# Files up to this long are first transcribed by the English model (greedy, no fallback): when it was sure
# of English, that is the transcript and identification is skipped. Identification is one base encoder pass
# (~1.8 s on one core), as long as tiny.en's whole transcription of a 25-s clip (~1.7 s): half the speech
# stage of a short file. A longer file would pay a second English pass for every non-English minute.
PROBE_SECONDS = 60.0
PROBE_MIN_WORDS = 5
PROBE_MIN_WORD_PROBABILITY = 0.7
# 30 s of fast English speech is ~140 tokens; a window that fills the cap is a loop (or too dense to trust).
PROBE_MAX_TOKENS = 224
PROBE_TOKEN_MARGIN = 8
FALLBACK_LOGPROB = -1.0  # faster-whisper's defaults: a window below / above these is re-decoded
FALLBACK_COMPRESSION = 2.4


@functools.lru_cache(maxsize=1)
def _decoded(path: str, mtime_ns: int, size: int) -> np.ndarray:
    from faster_whisper.audio import decode_audio

    try:
        audio = decode_audio(path, sampling_rate=SAMPLE_RATE)
    except Exception as exc:
        raise MediaError(f"audio could not be decoded: {type(exc).__name__}: {exc}") from exc
    return audio


def decode(path: Path) -> np.ndarray:
    """The file's audio as Whisper reads it (16 kHz mono float32); a broken stream is a MediaError. The
    last file decoded is kept (speech and the sound-event stage both read it; neither writes to it) until
    `forget_decoded()`."""
    st = Path(path).stat()
    return _decoded(str(path), st.st_mtime_ns, st.st_size)


def forget_decoded() -> None:
    _decoded.cache_clear()
MIXED_MIN_PROBABILITY = 0.6  # a stretch this sure of another language makes the file mixed


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

        from ingest.stages.speech.features import bound_features

        log.info("loading whisper %s on %s/%s", self.options.model, self.options.device, self.options.compute_type)
        model = WhisperModel(str(self.model_path), device=self.options.device, compute_type=self.options.compute_type,
                             cpu_threads=self.threads, local_files_only=True)
        return bound_features(model)  # memory bounded by the length of a block, not of the video

    def _load(self):
        return self._model.get()

    def smoke(self) -> str:
        """Load the model and decode a second of quiet noise (no VAD: the decoder itself must run)."""
        from ingest.readiness import tiny_audio

        with self._lock:
            segments, _ = self._load().transcribe(tiny_audio(), language=self.options.language or "en",
                                                  vad_filter=False, beam_size=1, without_timestamps=True,
                                                  max_new_tokens=4, condition_on_previous_text=False)
            list(segments)
        return f"{self.model_path} on {self.options.device}/{self.options.compute_type}"

    @property
    def multilingual(self) -> bool:
        return not self.options.model.endswith(".en")

    def identify(self, audio: np.ndarray, windows: int = 3) -> LanguageGuess:
        """The language of decoded 16 kHz `audio`: Whisper's language head on the first 30 s of speech, and
        for a long file on `windows` windows spread over it (start, middle, end), each trimmed to its speech
        by VAD. Probabilities are summed per
        language across windows, so one noisy window does not decide."""
        with self._lock:
            model = self._load()
            total = len(audio) / SAMPLE_RATE
            # One window decides a short file (each costs ~1-2 s on one core); long ones get up to
            # `windows`, so a talk that switches language after its introduction is noticed.
            starts = [0.0] if total < LONG_FILE_SECONDS else \
                [i * (total - WINDOW_SECONDS) / (windows - 1) for i in range(windows)]
            stretches = []
            votes: dict[str, float] = {}
            for start in starts:
                chunk = audio[int(start * SAMPLE_RATE):int((start + WINDOW_SECONDS) * SAMPLE_RATE)]
                try:
                    lang, prob, _ = model.detect_language(chunk, vad_filter=True)
                except Exception as exc:  # a window without speech or too short for the encoder
                    log.debug("no language from the window at %.0f s: %s", start, exc)
                    continue
                stretches.append((round(start, 1), lang, round(float(prob), 3)))
                votes[lang] = votes.get(lang, 0.0) + float(prob)
        if not votes:
            return LanguageGuess(None, 0.0)
        best = max(votes, key=lambda k: votes[k])
        return LanguageGuess(best, round(votes[best] / len(stretches), 3), tuple(stretches))

    def transcribe(self, path: Path | np.ndarray, on_progress: Callable[[float], None] | None = None,
                   language: str | None = None, mixed: bool = False, probe: bool = False) -> SpeechResult:
        """`on_progress(seconds)` is called with the end time of each decoded segment (for live progress).
        `language` overrides the configured one; `mixed` re-identifies the language every 30 s (a file that
        switches language).

        `probe`: is this the model's language? Greedy only, at most `PROBE_MAX_TOKENS` per window, and it
        stops at the first window that would have needed faster-whisper's fallback or filled the cap (an
        incomplete result, `confidence.complete` False). Speech in another language sends tiny.en into
        repetition loops that the default decoding re-decodes at up to six temperatures: 5-10 s per 50-s
        clip instead of ~1.5 s until the first bad window."""
        options = self.options
        if language and self.multilingual and language != options.language:
            options = replace(options, language=language)
        source = path if isinstance(path, np.ndarray) else str(path)
        spans: list[SpeechSpan] = []
        probs: list[float] = []
        logprob, compression, complete = 0.0, 0.0, True
        window_tokens: dict[int, int] = {}
        with self._lock:
            model = self._load()
            try:
                kwargs: dict = dict(language=None if mixed else options.language, beam_size=options.beam_size,
                                    vad_filter=options.vad_filter, word_timestamps=options.word_timestamps,
                                    condition_on_previous_text=False, multilingual=mixed and self.multilingual)
                if probe:
                    kwargs.update(temperature=[0.0], max_new_tokens=PROBE_MAX_TOKENS)
                if options.batch_size > 0:
                    from faster_whisper import BatchedInferencePipeline

                    segments, info = BatchedInferencePipeline(model).transcribe(
                        source, batch_size=options.batch_size, **kwargs)
                else:
                    segments, info = model.transcribe(source, **kwargs)
                for s in segments:  # a generator: decoding happens as it is consumed
                    if on_progress is not None:
                        on_progress(s.end)
                    logprob, compression = min(logprob, s.avg_logprob), max(compression, s.compression_ratio)
                    window_tokens[s.seek] = window_tokens.get(s.seek, 0) + len(s.tokens)
                    if probe and (s.avg_logprob < FALLBACK_LOGPROB or s.compression_ratio > FALLBACK_COMPRESSION
                                  or window_tokens[s.seek] >= PROBE_MAX_TOKENS - PROBE_TOKEN_MARGIN):
                        complete = False
                        break  # closing the generator stops the decoding
                    if not s.text.strip():
                        continue
                    probs += [w.probability for w in (s.words or [])]
                    spans.append(SpeechSpan(text=s.text.strip(), start=round(s.start, 3), end=round(s.end, 3),
                                            words=tuple(_word(w) for w in (s.words or []))))
            except Exception as exc:  # corrupt audio streams surface here as decoder errors
                raise MediaError(f"audio could not be decoded: {type(exc).__name__}: {exc}") from exc
        confidence = Confidence(len(probs), float(np.mean(probs)) if probs else 0.0, logprob, compression, complete)
        return SpeechResult(spans=spans, language=getattr(info, "language", None), options=options,
                            confidence=confidence)

    def hear(self, audio: np.ndarray, hints: str, language: str | None = None) -> list[Word]:
        """Words of a short stretch of `audio` (at most 30 s: `rehear` packs it) decoded with `hints` as
        hotwords: greedy, one temperature, no VAD (the stretch is speech already)."""
        lang = (language if self.multilingual else None) or self.options.language
        with self._lock:
            try:
                segments, _ = self._load().transcribe(
                    audio, language=lang, beam_size=self.options.beam_size, vad_filter=False,
                    word_timestamps=True, condition_on_previous_text=False, temperature=[0.0], hotwords=hints)
                return [_word(w) for s in segments for w in (s.words or []) if w.word.strip()]
            except Exception as exc:
                raise MediaError(f"audio could not be decoded: {type(exc).__name__}: {exc}") from exc


def _word(w) -> Word:
    """A faster-whisper word as stored: text stripped, times and probability to three decimals."""
    return Word(w.word.strip(), round(w.start, 3), round(w.end, 3), round(w.probability, 3))


class RoutedTranscriber:
    """The English fast path and the multilingual model behind one `transcribe`.

    `language` forced (settings.whisper_language): no identification; "en" uses the English model (the
    fast path for an English archive), anything else the multilingual one. Not forced: identified by the
    multilingual model, then routed. With only one model installed, that model does everything."""

    def __init__(self, english: WhisperTranscriber | None, multilingual: WhisperTranscriber | None,
                 language: str | None = None, decoder: Callable[[Path], np.ndarray] = decode) -> None:
        if english is None and multilingual is None:
            raise ValueError("a transcriber needs at least one model")
        self.english, self.multilingual, self.language = english, multilingual, language
        self.decoder = decoder

    @property
    def models(self) -> list[WhisperTranscriber]:
        return [m for m in (self.english, self.multilingual) if m is not None]

    def route_key(self) -> dict:
        """What identifies the transcripts this makes (the analysis cache key): the model a file goes to
        depends on its language, so both models' options count."""
        return {"language": self.language,
                "english": self.english.options.to_dict() if self.english else None,
                "multilingual": self.multilingual.options.to_dict() if self.multilingual else None}

    def for_language(self, language: str | None) -> WhisperTranscriber:
        """The model that transcribes speech in `language` (the same routing as `transcribe`)."""
        if self.multilingual is None or (language == "en" and self.english is not None):
            return self.english or self.multilingual  # type: ignore[return-value]
        return self.multilingual

    def transcribe(self, path: Path, on_progress: Callable[[float], None] | None = None) -> SpeechResult:
        if self.multilingual is None or self.language == "en":
            model = self.english or self.multilingual
            assert model is not None
            return model.transcribe(path, on_progress, language=self.language)
        if self.language:
            return self.multilingual.transcribe(path, on_progress, language=self.language)
        audio = self.decoder(path)  # once: identification and transcription both read it
        # Only an English-only model is a probe: a multilingual one told "English" translates other speech
        # into fluent, confident English.
        if self.english is not None and not self.english.multilingual and len(audio) <= PROBE_SECONDS * SAMPLE_RATE:
            probe = self.english.transcribe(audio, on_progress, probe=True)
            if probe.confidence.heard_its_language():
                log.info("%s: English (the English model was sure: %s)", path.name, probe.confidence)
                return replace(probe, language="en", languages=("en",))
            log.info("%s: not clearly English (%s); identifying the language", path.name, probe.confidence)
        guess = self.multilingual.identify(audio)
        log.info("%s: language %s (p=%.2f; stretches %s)", path.name, guess.language, guess.probability,
                 guess.stretches)
        mixed = len(guess.languages) > 1
        if guess.language == "en" and not mixed and self.english is not None:
            result = self.english.transcribe(audio, on_progress)
        else:
            result = self.multilingual.transcribe(audio, on_progress, language=guess.language, mixed=mixed)
        main = guess.language or result.language
        return replace(result, language=main, languages=guess.languages or ((main,) if main else ()))
