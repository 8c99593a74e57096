from api.transcripts import to_srt, to_vtt
from clipcite.domain import SpeechSpan, Word

SPANS = [SpeechSpan(text="Good afternoon.", start=0.3, end=1.25, speaker="speaker_1"),
         SpeechSpan(text="Thank you.", start=61.0, end=3725.5, speaker="speaker_2")]


def test_srt_numbers_cues_with_comma_millis_and_names():
    out = to_srt(SPANS, {"speaker_1": "Dana"})
    assert out.startswith("1\n00:00:00,300 --> 00:00:01,250\nDana: Good afternoon.\n")
    assert "2\n00:01:01,000 --> 01:02:05,500\nspeaker_2: Thank you.\n" in out


def test_vtt_header_and_voice_tags_only_with_several_speakers():
    out = to_vtt(SPANS, {})
    assert out.startswith("WEBVTT\n") and "00:00:00.300 --> 00:00:01.250\n<v speaker_1>Good afternoon." in out
    single = to_vtt([SPANS[0]], {})
    assert "<v " not in single


def test_json_transcript_has_words_and_names():
    from api.transcripts import to_json

    spans = [SpeechSpan(text="hello there", start=0.0, end=1.0, speaker="speaker_1",
                        words=(Word(text="hello", start=0.0, end=0.4), Word(text="there", start=0.5, end=1.0))),
             SpeechSpan(text="hi", start=1.2, end=1.5, speaker="speaker_2", words=())]
    out = to_json(spans, {"speaker_1": "Dana"})
    assert out[0]["speaker"] == "Dana" and out[1]["speaker"] == "speaker_2"
    assert out[0]["words"][1] == {"word": "there", "start_time": 0.5, "end_time": 1.0}
    assert "words" not in out[1]


def test_on_screen_lines_get_the_times_they_are_visible_merged_across_keyframes():
    from clipcite.domain import FrameText
    from ingest.stages.scene_text.ocr import appearances

    frames = [FrameText(0.0, 3.0, ("QUARTERLY  UPDATE",)), FrameText(3.0, 5.0, ("Quarterly update", "Revenue: $1.8M")),
              FrameText(5.0, 9.5, ("Revenue: $1.8M",)), FrameText(20.0, 24.0, ("Revenue: $1.8M",))]
    assert appearances(frames) == [("QUARTERLY UPDATE", 0.0, 5.0), ("Revenue: $1.8M", 3.0, 9.5),
                                   ("Revenue: $1.8M", 20.0, 24.0)]  # shown again later: a second appearance
    assert appearances([]) == []


def test_file_level_lists_hold_each_utterance_once():
    from api.serialize import media_description
    from clipcite.domain import Segment, SpeechPart
    from engine.catalog import FileRecord, MediaStatus

    straddling = SpeechPart("Members receive a dividend of three percent.", 18.0, 23.0)
    segs = [Segment("c", "f", f"s{i}", i, 20.0 * i, 20.0 * i + 20, speech=[straddling], scene_text=["Dividend: 3%"],
                    file_info={"filename": "a.mp4"}) for i in range(2)]
    f = FileRecord("f", "a.mp4", "/a.mp4", 1, "x", 0, {}, None, MediaStatus.USABLE)
    desc = media_description("c", f, segs, on_screen=[("Dividend: 3%", 12.0, 31.0)])
    assert [(p.text, p.start_time, p.end_time) for p in desc.speech] == [(straddling.text, 18.0, 23.0)]
    assert [(p.text, p.start_time, p.end_time) for p in desc.scene_text] == [("Dividend: 3%", 12.0, 31.0)]
    fallback = media_description("c", f, segs)  # no analysis: each segment's window, still once per segment
    assert [(p.start_time, p.end_time) for p in fallback.scene_text] == [(0.0, 20.0), (20.0, 40.0)]


def test_numbers_are_written_normally():
    from engine.lexical import tidy_numbers

    assert tidy_numbers("a budget of $650 ,000 and 1 .8 million") == "a budget of $650,000 and 1.8 million"
    assert tidy_numbers("rooms 3, 4 and 5. Then 12") == "rooms 3, 4 and 5. Then 12"  # lists and sentences stay
