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
