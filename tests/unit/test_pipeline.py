from clipcite.domain import SpeechSpan, TimeRange, VideoInfo, Word
from engine.payload import point_id
from ingest.analysis import FileAnalysis
from ingest.indexing import build_segments, segment_uuid
from ingest.pipeline import Analyzer
from ingest.stages.scene_text import SceneTextStage
from ingest.stages.speech import SpeechStage
from ingest.stages.visual import VisualStage


def span(text, start, end):
    words = text.split()
    step = (end - start) / len(words)
    return SpeechSpan(text, start, end, tuple(Word(w, start + i * step, start + (i + 1) * step)
                                              for i, w in enumerate(words)))


def test_straddling_sentence_goes_to_both_sides_and_short_tails_do_not():
    info = VideoInfo(duration_seconds=30.0, fps=25.0, width=480, height=270, has_audio=True)
    analysis = FileAnalysis(video_info=info,
                            speech=[span("first sentence here", 1, 4),
                                    span("members get a dividend of three percent", 18, 22.5),
                                    span("ok", 19.6, 20.2)])
    segs = build_segments(analysis, [TimeRange(0, 20), TimeRange(20, 30)], "c", "f", {}, {})
    assert [p.text for p in segs[0].speech] == ["first sentence here", "members get a dividend of three percent", "ok"]
    assert [p.text for p in segs[1].speech] == ["members get a dividend of three percent"]


def test_ids_are_deterministic():
    a = segment_uuid("c", "f", TimeRange(0, 20))
    assert a == segment_uuid("c", "f", TimeRange(0, 20)) != segment_uuid("c", "f", TimeRange(0, 21))
    assert point_id(a) == point_id(a) and 0 <= point_id(a) < 2**63


def test_analysis_reports_monotonic_progress_per_stage(tmp_path):
    """Live status for the web page and API: stages in order, fractions rising to the end of the video."""
    from dataclasses import dataclass

    from ingest.stages.speech.whisper import SpeechOptions, SpeechResult
    from tests.media import Scene, make_video

    path = tmp_path / "v.mp4"
    make_video(path, [Scene((200, 0, 0), seconds=3), Scene((0, 200, 0), seconds=3), Scene((0, 0, 200), seconds=3)],
               audio=False)

    @dataclass
    class FakeTranscriber:
        options = SpeechOptions(model="fake", device="cpu", compute_type="int8", language="en")

        def transcribe(self, p, on_progress=None):
            for t in (2.0, 5.0, 9.0):
                on_progress(t)
            return SpeechResult(spans=[span("hello there", 0, 2)], language="en", options=self.options)

    class FakeOcr:
        def read(self, image):
            return ["TEXT"]

    seen: list[tuple[str, float]] = []
    info = VideoInfo(duration_seconds=9.0, width=480, height=270, fps=10.0, has_audio=True)
    Analyzer([SpeechStage(FakeTranscriber()), SceneTextStage(FakeOcr())]).analyze(
        path, info, lambda st, f: seen.append((st, f)))
    stages = [s for s, _ in seen]
    assert stages[0] == "speech" and stages[-1] == "frames" and "frames" not in stages[:stages.index("frames")]
    fractions = [f for _, f in seen]
    assert fractions == sorted(fractions) and fractions[0] >= 0.0 and fractions[-1] <= 1.0
    assert max(f for s, f in seen if s == "speech") <= 0.5 < fractions[-1]
    assert len([s for s in stages if s == "frames"]) >= 3  # one report per keyframe, not only at the start


def test_overlapped_analysis_runs_speech_beside_keyframes_with_the_same_result(tmp_path):
    import threading

    from ingest.stages.speech.whisper import SpeechOptions, SpeechResult
    from tests.media import Scene, make_video

    path = tmp_path / "v.mp4"
    make_video(path, [Scene((200, 0, 0), seconds=2), Scene((0, 200, 0), seconds=2)], audio=False)
    threads: dict[str, str] = {}

    class FakeTranscriber:
        options = SpeechOptions(model="fake", device="cpu", compute_type="int8", language="en")

        def transcribe(self, p, on_progress=None):
            threads["speech"] = threading.current_thread().name
            on_progress(4.0)
            return SpeechResult(spans=[span("hello there", 0, 2)], language="en", options=self.options)

    class FakeOcr:
        def read(self, image):
            import random
            import time

            threads.setdefault("ocr_all", set()).add(threading.current_thread().name)
            threads["ocr"] = threading.current_thread().name
            time.sleep(random.uniform(0, 0.02))  # workers finish out of order
            return [f"TEXT {int(image.mean())}"]

    class FakeDescriber:
        name = "fake"

        def describe(self, image):
            from ingest.stages.visual.describer import VisualLabels

            threads["visual"] = threading.current_thread().name
            return VisualLabels(kind="photo")

    info = VideoInfo(duration_seconds=4.0, width=480, height=270, fps=10.0, has_audio=True)
    results = {}
    for overlap, workers in ((False, 1), (True, 1), (True, 3)):
        seen: list[float] = []
        threads.pop("ocr_all", None)
        stages = [SpeechStage(FakeTranscriber()), SceneTextStage(FakeOcr(), workers), VisualStage(FakeDescriber())]
        a = Analyzer(stages, overlap=overlap).analyze(path, info, lambda st, f, seen=seen: seen.append(f))
        assert seen == sorted(seen) and seen[-1] == 1.0
        results[(overlap, workers)] = (a.speech, a.texts, a.visuals, a.language)
        assert len({threads["speech"], threads["ocr"], threads["visual"]}) == (3 if overlap else 1)
        assert len(threads["ocr_all"]) <= workers
    assert results[(True, 1)] == results[(False, 1)] == results[(True, 3)] and results[(False, 1)][1]
    assert len({t.lines for t in results[(False, 1)][1]}) > 1  # distinct frames, so order is checked


def test_an_ocr_failure_in_its_thread_reaches_the_job(tmp_path):
    from types import SimpleNamespace

    import pytest

    from tests.media import Scene, make_video

    path = tmp_path / "v.mp4"
    make_video(path, [Scene((200, 0, 0), seconds=2), Scene((0, 200, 0), seconds=2)], audio=False)

    class BrokenOcr:
        def read(self, image):
            raise RuntimeError("onnx exploded")

    describer = SimpleNamespace(name="fake", describe=lambda im: SimpleNamespace(description="d", objects=(),
                                                                                scenes=(), colours=(), caption=""))
    info = VideoInfo(duration_seconds=4.0, width=480, height=270, fps=10.0, has_audio=False)
    with pytest.raises(RuntimeError, match="onnx exploded"):
        Analyzer([SceneTextStage(BrokenOcr()), VisualStage(describer)], overlap=True).analyze(path, info)
