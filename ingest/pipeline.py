"""The ingest pipeline: analyse a file once (speech, keyframe OCR, visual labels), then cut it into
segments for a collection, embed and upsert them.

Why two halves: model work depends only on the file and the stage options, so it is cached per file in
the catalog; segmentation is per collection (its own config) and costs nothing to redo.
Stages are injected and optional: a disabled stage (or a file without audio) simply contributes nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from clipcite.domain import (
    FrameText,
    FrameVector,
    FrameVisual,
    Segment,
    SpeechPart,
    SpeechSpan,
    TimeRange,
    VideoInfo,
    Word,
)
from engine import lexical
from engine.embedding import Embedder
from engine.filters import Group, Match, filter_mirrors
from engine.store import SegmentStore, SparseVec, StorePoint
from ingest.frames import iter_keyframes
from ingest.image_embed import ClipEncoder
from ingest.scene_text import SceneTextReader, dedupe_lines
from ingest.segment import SegmentationConfig, plan_segments
from ingest.speakers import SpeakerDiarizer
from ingest.speech import WhisperTranscriber
from ingest.visual import VisualDescriber

log = logging.getLogger(__name__)

Progress = Callable[[str, float], None]


@dataclass
class FileAnalysis:
    """Everything the models said about one file; JSON-serialisable for the catalog cache."""

    video_info: dict[str, Any]
    speech: list[SpeechSpan] = field(default_factory=list)
    language: str | None = None
    texts: list[FrameText] = field(default_factory=list)
    visuals: list[FrameVisual] = field(default_factory=list)
    frame_vectors: list[FrameVector] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FileAnalysis:
        return cls(
            video_info=data["video_info"],
            speech=[SpeechSpan(text=s["text"], start=s["start"], end=s["end"], speaker=s.get("speaker"),
                               words=tuple(Word(**w) for w in s.get("words", ()))) for s in data.get("speech", [])],
            language=data.get("language"),
            texts=[FrameText(start=t["start"], end=t["end"], lines=tuple(t["lines"])) for t in data.get("texts", [])],
            visuals=[FrameVisual(start=v["start"], end=v["end"], description=v["description"],
                                 objects=tuple(v.get("objects", ())), scenes=tuple(v.get("scenes", ())),
                                 colours=tuple(v.get("colours", ())), caption=v.get("caption", ""))
                     for v in data.get("visuals", [])],
            frame_vectors=[FrameVector(**v) for v in data.get("frame_vectors", [])],
            options=data.get("options", {}), timings=data.get("timings", {}),
        )


@dataclass
class Analyzer:
    """Runs the per-file model stages. Any of them may be None (disabled)."""

    transcriber: WhisperTranscriber | None
    ocr: SceneTextReader | None
    describer: VisualDescriber | None
    sample_fps: float = 2.0
    diarizer: SpeakerDiarizer | None = None
    overlap: bool = False  # speech and keyframes at once (see analyze)
    ocr_workers: int = 1  # keyframes read at once when overlapping (the reader needs as many engines)
    image_encoder: ClipEncoder | None = None  # CLIP image vectors per keyframe (user-supplied weights)

    def options_key(self) -> str:
        opts = {
            "speech": self.transcriber.options.to_dict() if self.transcriber else None,
            "ocr": f"{type(self.ocr).__name__}:{getattr(self.ocr, 'det_side', '')}" if self.ocr else None,
            "visual": getattr(self.describer, "name", None),
            **({"image": self.image_encoder.name} if self.image_encoder else {}),
            "speakers": asdict(self.diarizer.options) if self.diarizer else None,
            "fps": self.sample_fps,
            "v": 6,
        }
        return hashlib.sha1(json.dumps(opts, sort_keys=True).encode()).hexdigest()[:16]

    def _ocr_frame(self, image, start: float, end: float, out: FileAnalysis) -> None:
        assert self.ocr is not None  # only called when the stage is configured
        t0 = time.perf_counter()
        lines = self.ocr.read(image)
        out.timings["ocr"] = out.timings.get("ocr", 0.0) + time.perf_counter() - t0
        if lines:
            out.texts.append(FrameText(start=start, end=end, lines=tuple(lines)))

    def _embed_frame(self, image, start: float, end: float, out: FileAnalysis) -> None:
        assert self.image_encoder is not None
        t0 = time.perf_counter()
        vec = self.image_encoder.embed_images([image])[0]
        out.timings["image"] = out.timings.get("image", 0.0) + time.perf_counter() - t0
        out.frame_vectors.append(FrameVector(start=start, end=end, vector=pack_vector(vec)))

    def _describe_frame(self, image, start: float, end: float, out: FileAnalysis) -> None:
        assert self.describer is not None
        t0 = time.perf_counter()
        v = self.describer.describe(image)
        out.timings["visual"] = out.timings.get("visual", 0.0) + time.perf_counter() - t0
        out.visuals.append(FrameVisual(start=start, end=end, description=v.description,
                                       objects=v.objects, scenes=v.scenes, colours=v.colours, caption=v.caption))

    def analyze(self, path: Path, info: VideoInfo, progress: Progress | None = None) -> FileAnalysis:
        """`progress(stage, fraction)` reports how far the whole analysis is (0..1), for live status.

        With `overlap`, speech (CTranslate2) runs in a second thread while this one decodes keyframes and
        runs OCR and the detector (onnxruntime, OpenCV): different runtimes with their own thread budgets,
        so on two or more cores the slower of the two sets the pace instead of their sum."""
        report = progress or (lambda stage, frac: None)
        duration = max(info.duration_seconds, 1e-3)
        has_speech = bool(self.transcriber and info.has_audio)
        has_frames = bool(self.ocr or self.describer or self.image_encoder)
        # Rough shares of the work, from measured stage timings on CPU: speech about half, keyframes the rest.
        share = 0.5 if (has_speech and has_frames) else (1.0 if has_speech else 0.0)
        done = {"speech": 0.0, "frames": 0.0}
        lock = threading.Lock()

        def advance(part: str, stage: str, frac: float) -> None:
            with lock:
                done[part] = max(done[part], min(frac, 1.0))
                report(stage, share * done["speech"] + (1 - share) * done["frames"])

        out = FileAnalysis(video_info=asdict(info))
        heard = FileAnalysis(video_info=out.video_info)  # written by the speech thread only
        if has_speech and has_frames and self.overlap:
            with ThreadPoolExecutor(1, thread_name_prefix="speech") as pool:
                speech = pool.submit(self._speech, path, duration, heard, advance)
                try:
                    self._frames(path, info, out, advance)
                finally:
                    speech.result()
        else:
            if has_speech:
                self._speech(path, duration, heard, advance)
            if has_frames:
                self._frames(path, info, out, advance)
        out.speech, out.language = heard.speech, heard.language
        out.options.update(heard.options)
        out.timings.update(heard.timings)
        out.options["ocr"] = type(self.ocr).__name__ if self.ocr else None
        out.options["visual"] = getattr(self.describer, "name", None)
        return out

    def _speech(self, path: Path, duration: float, out: FileAnalysis, advance) -> None:
        assert self.transcriber is not None
        t0 = time.perf_counter()
        advance("speech", "speech", 0.0)
        result = self.transcriber.transcribe(path,
                                             on_progress=lambda t: advance("speech", "speech", 0.9 * t / duration))
        out.speech, out.language = result.spans, result.language
        out.options["speech"] = result.options.to_dict()
        out.timings["speech"] = time.perf_counter() - t0
        if self.diarizer and out.speech:
            t0 = time.perf_counter()
            advance("speech", "speakers", 0.9)
            out.speech = self.diarizer.diarize(path, out.speech)
            out.timings["speakers"] = time.perf_counter() - t0
            out.options["speakers"] = asdict(self.diarizer.options)
        advance("speech", "speech", 1.0)

    def _frames(self, path: Path, info: VideoInfo, out: FileAnalysis, advance) -> None:
        """Decode keyframes and describe them here; with `overlap`, OCR (the costliest model per frame:
        0.6 s of text detection at side 480 on one core) runs in its own thread behind a short queue."""
        duration = max(info.duration_seconds, 1e-3)
        advance("frames", "frames", 0.0)
        t0 = time.perf_counter()
        overlapped = self.overlap and self.ocr and self.describer
        ocr = _OcrPool(self, out.video_info, self.ocr_workers) if overlapped else None
        count = 0
        previous = None

        def read(kf, end: float) -> None:
            end = max(end, kf.time + 1e-3)
            if self.ocr:
                if ocr is not None:
                    ocr.submit(kf.image, kf.time, end)
                else:
                    self._ocr_frame(kf.image, kf.time, end, out)
            if self.describer:
                self._describe_frame(kf.image, kf.time, end, out)
            if self.image_encoder:
                self._embed_frame(kf.image, kf.time, end, out)

        try:
            # Streamed with a lag of one: a keyframe's content lasts until the next keyframe appears,
            # and only a few decoded images are held at a time, however long the video.
            for kf in iter_keyframes(path, sample_fps=self.sample_fps):
                if previous is not None:
                    read(previous, kf.time)
                    advance("frames", "frames", kf.time / duration)
                previous, count = kf, count + 1
            if previous is not None:
                read(previous, info.duration_seconds)
        finally:
            if ocr is not None:
                texts, ocr_seconds = ocr.finish()
                out.texts.extend(texts)
                out.timings["ocr"] = ocr_seconds
        busy = out.timings.get("visual", 0.0) + out.timings.get("image", 0.0) \
            + (0.0 if ocr is not None else out.timings.get("ocr", 0.0))
        out.timings["frames"] = time.perf_counter() - t0 - busy
        out.options["keyframes"] = count
        advance("frames", "frames", 1.0)


class _OcrPool:
    """Consumer threads for OCR behind a short queue. With several workers, keyframes are read at once,
    so OCR can use the cores speech leaves idle once it is done (measured on 2 vCPUs, about one core of
    throughput: 3 % faster, so services start one worker there). Results are put back in keyframe order;
    a failure is re-raised by `finish()` (workers keep draining so the producer never blocks on a full
    queue)."""

    def __init__(self, analyzer: Analyzer, video_info: dict[str, Any], workers: int = 1, depth: int = 4) -> None:
        self.analyzer = analyzer
        self.outs = [FileAnalysis(video_info=video_info) for _ in range(max(1, workers))]
        self.queue: queue.Queue[tuple[Any, float, float] | None] = queue.Queue(maxsize=depth + len(self.outs))
        self.error: BaseException | None = None
        self.threads = [threading.Thread(target=self._run, args=(out,), name=f"ocr-{i}", daemon=True)
                        for i, out in enumerate(self.outs)]
        for t in self.threads:
            t.start()

    def _run(self, out: FileAnalysis) -> None:
        while (item := self.queue.get()) is not None:
            if self.error is None:
                try:
                    self.analyzer._ocr_frame(*item, out)
                except BaseException as exc:  # noqa: BLE001 - handed to the producer in finish()
                    self.error = exc

    def submit(self, image, start: float, end: float) -> None:
        self.queue.put((image, start, end))

    def finish(self) -> tuple[list[FrameText], float]:
        for _ in self.threads:
            self.queue.put(None)
        for t in self.threads:
            t.join()
        if self.error is not None:
            raise self.error
        texts = sorted((t for out in self.outs for t in out.texts), key=lambda t: t.start)
        return texts, sum(out.timings.get("ocr", 0.0) for out in self.outs)


def pack_vector(vec) -> str:
    import base64

    import numpy as np

    return base64.b64encode(np.asarray(vec, dtype=np.float16).tobytes()).decode()


def unpack_vector(text: str):
    import base64

    import numpy as np

    return np.frombuffer(base64.b64decode(text), dtype=np.float16).astype(np.float32)


def segment_image_vectors(analysis: FileAnalysis, segments: list[Segment]) -> dict[str, list[float]]:
    """Per segment, the normalised mean of the CLIP vectors of the keyframes on screen in it."""
    import numpy as np

    out: dict[str, list[float]] = {}
    for seg in segments:
        rng = TimeRange(seg.start_time, seg.end_time)
        vecs = [unpack_vector(v.vector) for v in analysis.frame_vectors if _shares(TimeRange(v.start, v.end), rng)]
        if vecs:
            mean = np.mean(vecs, axis=0)
            out[seg.segment_id] = (mean / max(float(np.linalg.norm(mean)), 1e-12)).tolist()
    return out


def segment_uuid(collection_id: str, file_id: str, rng: TimeRange) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"clipcite:{collection_id}:{file_id}:{rng.start:.3f}-{rng.end:.3f}"))


def point_id(segment_id: str) -> int:
    """Deterministic 63-bit id: re-running a job overwrites its points instead of duplicating them."""
    return int.from_bytes(hashlib.sha1(segment_id.encode()).digest()[:8], "big") >> 1


def _speech_in(spans: list[SpeechSpan], rng: TimeRange, min_overlap: float = 1.0) -> list[SpeechPart]:
    """Whole utterances that are spoken in the segment: a sentence straddling a boundary goes to each
    side it meaningfully overlaps (at least `min_overlap` s or half its length), so neither segment
    holds half a fact ("Members will receive a dividend" | "of three percent")."""
    parts: list[SpeechPart] = []
    for span in spans:
        overlap = min(span.end, rng.end) - max(span.start, rng.start)
        length = max(span.end - span.start, 1e-3)
        if overlap > 0 and (overlap >= min(min_overlap, length / 2) or rng.contains((span.start + span.end) / 2)):
            parts.append(SpeechPart(text=span.text, start_time=span.start, end_time=span.end, speaker=span.speaker))
    return [p for p in parts if p.text]


def _shares(window: TimeRange, rng: TimeRange, min_overlap: float = 0.3) -> bool:
    """A keyframe's content belongs to a segment if it is on screen there for a meaningful time
    (keyframe times are only known to half a sampling step)."""
    overlap = min(window.end, rng.end) - max(window.start, rng.start)
    return overlap >= min(min_overlap, window.duration / 2, rng.duration / 2) and overlap > 0


def merge_visuals(frames: list[FrameVisual]) -> list[str]:
    """One description per segment, stable across its keyframes: objects and scene labels seen in any
    keyframe (most frequent first), and the colours that dominate most keyframes; with a captioning
    model, its distinct captions (at most three, in keyframe order) come first."""
    if not frames:
        return []
    from collections import Counter

    from ingest.visual import describe_labels

    objects = Counter(o for f in frames for o in f.objects)
    scenes = Counter(s for f in frames for s in f.scenes)
    colours = Counter(c for f in frames for c in f.colours)
    text = describe_labels(tuple(o for o, _ in objects.most_common(6)), tuple(s for s, _ in scenes.most_common(3)),
                           tuple(c for c, _ in colours.most_common(3)))
    captions = list(dict.fromkeys(f.caption for f in frames if f.caption))[:3]
    return [c for c in captions] + ([text] if text else [])


def build_segments(analysis: FileAnalysis, ranges: list[TimeRange], collection_id: str, file_id: str,
                   file_info: dict[str, Any], metadata: dict[str, Any]) -> list[Segment]:
    segments = []
    speaker_count = len({s.speaker for s in analysis.speech if s.speaker})
    for i, rng in enumerate(ranges):
        texts = [line for t in analysis.texts if _shares(TimeRange(t.start, t.end), rng) for line in t.lines]
        visuals = merge_visuals([v for v in analysis.visuals if _shares(TimeRange(v.start, v.end), rng)])
        seg_id = segment_uuid(collection_id, file_id, rng)
        speech = _speech_in(analysis.speech, rng)
        segments.append(Segment(
            collection_id=collection_id, file_id=file_id, segment_id=seg_id, index=i,
            start_time=rng.start, end_time=rng.end, speech=speech,
            speakers=list(dict.fromkeys(p.speaker for p in speech if p.speaker)), file_speaker_count=speaker_count,
            scene_text=dedupe_lines(texts), visual=visuals,
            metadata=metadata, file_info=file_info, video_info=analysis.video_info,
        ))
    return segments


def embedding_text(seg: Segment, filename: str | None = None) -> str:
    """All modalities with labels; the filename helps questions that name a video."""
    lines = []
    if filename:
        lines.append(f"video: {Path(filename).stem.replace('_', ' ')}")
    lines.extend(seg.modality_lines("speech: ", "on screen: ", "visual: "))
    return "\n".join(lines)


def segment_payload(seg: Segment) -> dict[str, Any]:
    payload = seg.to_payload()
    payload["segment_duration"] = round(seg.end_time - seg.start_time, 3)
    payload.update(filter_mirrors(payload))
    return payload


def to_points(segments: list[Segment], embedder: Embedder, filename: str | None = None,
              image_vectors: dict[str, list[float]] | None = None) -> list[StorePoint]:
    if not segments:
        return []
    vectors = embedder.embed([embedding_text(s, filename) or "(empty segment)" for s in segments])
    # Utterance vectors for answering (engine.chat ranks a segment's sentences against the question).
    embedder.embed_cached([p.text for s in segments for p in s.speech if p.text])
    points = []
    for seg, vec in zip(segments, vectors, strict=False):
        sparse: dict[str, SparseVec] = {
            "speech_lex": lexical.doc_vector(seg.labelled_speech() + " " + Path(filename or "").stem.replace("_", " ")),
            "ocr_lex": lexical.doc_vector(" ".join(seg.scene_text)),
            "visual_lex": lexical.doc_vector(" ".join(seg.visual)),
        }
        points.append(StorePoint(id=point_id(seg.segment_id), dense=vec.tolist(), payload=segment_payload(seg),
                                 sparse=sparse, image=(image_vectors or {}).get(seg.segment_id)))
    return points


def file_scope(collection_id: str, file_id: str) -> Group:
    return Group(must=[Match("collection_id", (collection_id,)), Match("file_id", (file_id,))])


def index_segments(store: SegmentStore, embedder: Embedder, segments: list[Segment], collection_id: str,
                   file_id: str, filename: str | None = None, image_vectors: dict[str, list[float]] | None = None,
                   fence: AbstractContextManager | None = None, wanted: Callable[[], bool] | None = None) -> int:
    """Replace a file's segments in a collection: upsert new points (deterministic ids), then drop any
    point of this file whose segment is no longer in the plan. Re-running is idempotent. Embedding runs
    outside `fence`; the writes run inside it, and only while `wanted()` (the job was not cancelled by a
    delete meanwhile), so no point outlives its file."""
    points = to_points(segments, embedder, filename, image_vectors)
    with fence if fence is not None else nullcontext():
        if wanted is not None and not wanted():
            log.info("file %s left collection %s while it was indexed; nothing written", file_id, collection_id)
            return 0
        store.upsert(points)  # one write: a crash leaves all of the new points or none of them
        keep = {p.id for p in points}
        stale = [h.payload.get("segment_id") for h in store.scroll(file_scope(collection_id, file_id))
                 if h.id not in keep]
        if stale:
            store.delete(Group(must=[*file_scope(collection_id, file_id).must, Match("segment_id", tuple(stale))]))
    store.optimize()  # index what crossed the indexing threshold while the file's job still owns the time
    return len(points)


def plan(cfg: SegmentationConfig, info: dict[str, Any], path: Path) -> list[TimeRange]:
    return plan_segments(cfg, float(info["duration_seconds"]), path)
