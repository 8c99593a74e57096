"""Re-hearing unsure speech against the screen: which utterances are re-heard, what may replace what, and how
packed windows map back to their utterances (a fake decoder; the real one is exercised in integration)."""

import numpy as np

from clipcite.domain import FrameText, SpeechSpan, Word
from ingest.stages.speech.rehear import SAMPLE_RATE, candidates, merge, rehear


def utterance(spec: str, start: float = 0.0, step: float = 0.4) -> SpeechSpan:
    """'word/0.2' is a word heard with probability 0.2; a bare word was heard surely."""
    words = []
    for i, item in enumerate(spec.split()):
        text, _, p = item.partition("/")
        words.append(Word(text, round(start + i * step, 3), round(start + (i + 1) * step, 3), float(p or 0.95)))
    return SpeechSpan(" ".join(w.text for w in words), start, words[-1].end, tuple(words), speaker="s1")


def heard(spec: str, start: float = 0.0, step: float = 0.4) -> list[Word]:
    return list(utterance(spec, start, step).words)


SLIDE = ("Welcome aboard: Orlaith Brennagh",)


def test_an_unsure_run_becomes_the_screen_spelling():
    old = utterance("please welcome Orla/0.3 Brenna/0.2 to the team")
    new = merge(old, heard("please welcome Orlaith Brennagh to the team"), SLIDE)
    assert new.text == "please welcome Orlaith Brennagh to the team"
    assert new.speaker == "s1" and new.start == old.start
    assert [w.probability for w in new.words[2:4]] == [1.0, 1.0]


def test_a_sure_word_is_never_replaced_even_by_a_screen_word():
    old = utterance("the ferry leaves from Dunmore at noon")
    assert merge(old, heard("the ferry leaves from Brennagh at noon"), SLIDE) is old


def test_a_replacement_that_is_not_on_screen_is_refused():
    old = utterance("the glass/0.3 works opens on Friday")
    assert merge(old, heard("the class works opens on Friday"), SLIDE) is old


def test_only_the_on_screen_run_is_taken_from_a_mixed_rehearing():
    old = utterance("mr/0.3 bren/0.2 said hello/0.3 there")
    new = merge(old, heard("mr Brennagh said hullo there"), SLIDE)
    assert new.text == "mr Brennagh said hello there"


def test_unsure_speech_is_reheard_only_when_the_screen_shows_something_like_it():
    unsure = utterance("welcome Orla/0.3 Brenna/0.2", start=2.0)
    sure = utterance("welcome everyone", start=6.0)
    unlike = utterance("the zq/0.2 report", start=10.0)
    texts = [FrameText(0.0, 12.0, SLIDE)]
    found = candidates([unsure, sure, unlike], texts)
    assert [c.index for c in found] == [0]
    assert candidates([unsure], [FrameText(20.0, 30.0, SLIDE)]) == []  # the slide comes later


def test_packed_windows_map_words_back_with_their_times():
    a = utterance("welcome Orla/0.3 Brenna/0.2", start=2.0)
    b = utterance("thanks to Orlaith/0.9 Brenna/0.3 again", start=40.0)
    speech = [a, b]
    audio = np.zeros(60 * SAMPLE_RATE, dtype=np.float32)
    calls = []

    def decode(window, hints):
        calls.append((len(window) / SAMPLE_RATE, hints))
        # a: 1.2 s of words + 0.3 s padding either side; b starts after a 0.6-s gap
        b_at = (a.end + 0.3 - (a.start - 0.3)) + 0.6 + 0.3
        return heard("welcome Orlaith Brennagh", start=0.3) + heard("thanks to Orlaith Brennagh again", start=b_at)

    changed = rehear(speech, [FrameText(0.0, 60.0, SLIDE)], lambda: audio, decode)
    assert changed == 2 and len(calls) == 1 and calls[0][1] == SLIDE[0]
    assert speech[0].text == "welcome Orlaith Brennagh" and speech[0].words[1].start == 2.4
    assert speech[1].text == "thanks to Orlaith Brennagh again" and speech[1].words[3].start == 41.2


def test_nothing_is_read_or_decoded_when_nothing_is_unsure():
    def fail(*_):
        raise AssertionError("not expected")

    speech = [utterance("welcome everyone")]
    assert rehear(speech, [FrameText(0.0, 9.0, SLIDE)], fail, fail) == 0


def test_text_is_rebuilt_with_spaces_only_where_the_script_has_them():
    from ingest.stages.speech.rehear import joined

    assert joined(heard("welcome Orlaith Brennagh")) == "welcome Orlaith Brennagh"
    assert joined(heard("欢迎 林 小 姐 。")) == "欢迎林小姐。"
    assert joined(heard("会议 在 Glenmorrow 举行")) == "会议在 Glenmorrow 举行"
