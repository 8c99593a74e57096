import numpy as np

from clipcite.domain import Segment, SpeechPart, SpeechSpan, Word
from engine.filters import Match, parse_filter
from ingest.stages.speech.speakers import _pieces, cluster, diarization_error_rate


def test_cluster_numbers_by_first_appearance():
    a, b = np.array([1.0, 0.0, 0.1]), np.array([0.0, 1.0, 0.1])
    assert cluster(np.stack([b, a, b + 0.01, a]), 0.35) == [0, 1, 0, 1]
    assert cluster(np.stack([a]), 0.35) == [0] and cluster(np.zeros((0, 3)), 0.35) == []


def test_long_utterances_split_at_words():
    words = tuple(Word(f"w{i}", i * 0.5, i * 0.5 + 0.4) for i in range(20))
    pieces = _pieces(SpeechSpan("x", 0.0, 9.9, words), 3.0)
    assert len(pieces) == 3 and pieces[0][0] == 0.0 and pieces[-1][1] == 9.9


def test_der_best_mapping():
    truth = [(0, 2, "A"), (2, 4, "B")]
    assert diarization_error_rate(truth, [(0, 2, "speaker_2"), (2, 4, "speaker_1")]) < 0.01
    assert abs(diarization_error_rate(truth, [(0, 4, "speaker_1")]) - 0.5) < 0.01
    assert abs(diarization_error_rate(truth, [(0, 2, "speaker_1")]) - 0.5) < 0.01  # missed speech is wrong


def test_names_replace_labels_and_speaker_filter():
    seg = Segment("c", "f", "s", 0, 0, 5, speech=[SpeechPart("hello", 0, 1, "speaker_1"),
                                                 SpeechPart("hi", 1, 2, "speaker_2"),
                                                 SpeechPart("again", 2, 3, "speaker_2")],
                  metadata={"speakers": {"speaker_1": "Dana"}}, file_speaker_count=2)
    assert seg.labelled_speech() == "Dana: hello speaker_2: hi again"
    seg.metadata, seg.file_speaker_count = {}, 1
    assert seg.labelled_speech() == "hello hi again"
    g = parse_filter({"metadata": [{"path": "speaker", "scope": "segment", "operator": "Equal",
                                    "valueText": "speaker_2"}]})
    assert g.must == [Match("speakers", ("speaker_2",))]
