"""Speech routing: English to the fast English model, other languages (and mixed files) to the
multilingual one, a forced language skips identification; a short file the English model is sure of
skips it too."""

from pathlib import Path

import numpy as np

from ingest.stages.speech.whisper import Confidence, LanguageGuess, RoutedTranscriber, SpeechOptions, SpeechResult

SURE = Confidence(words=40, mean_word_probability=0.85, min_avg_logprob=-0.4, max_compression_ratio=1.5)
UNSURE = Confidence(words=40, mean_word_probability=0.45, min_avg_logprob=-1.6, max_compression_ratio=1.4)


def _silence(path):
    return np.zeros(16000, dtype=np.float32)


def _long(path):  # over the probe's length: identification decides
    return np.zeros(61 * 16000, dtype=np.float32)


class FakeWhisper:
    def __init__(self, model, guess=None, confidence=UNSURE):
        self.options = SpeechOptions(model=model, device="cpu", compute_type="int8", language=None)
        self.guess, self.calls, self.identified, self.confidence = guess, [], 0, confidence
        self.probes = 0

    @property
    def multilingual(self):
        return not self.options.model.endswith(".en")

    def identify(self, audio):
        self.identified += 1
        return self.guess

    def transcribe(self, path, on_progress=None, language=None, mixed=False, probe=False):
        if probe:
            self.probes += 1
        else:
            self.calls.append((language, mixed))
        return SpeechResult(spans=[], language=language or "xx", options=self.options, confidence=self.confidence)


def test_english_goes_to_the_fast_model_after_identification():
    en, multi = FakeWhisper("tiny.en"), FakeWhisper("base", LanguageGuess("en", 0.97, ((0.0, "en", 0.97),)))
    result = RoutedTranscriber(en, multi, decoder=_long).transcribe(Path("talk.mp4"))
    assert en.calls == [(None, False)] and multi.calls == [] and multi.identified == 1 and en.probes == 0
    assert result.language == "en" and result.languages == ("en",)


def test_another_language_goes_to_the_multilingual_model_with_that_language():
    en, multi = FakeWhisper("tiny.en"), FakeWhisper("base", LanguageGuess("es", 0.9, ((0.0, "es", 0.9),)))
    result = RoutedTranscriber(en, multi, decoder=_silence).transcribe(Path("reunion.mp4"))
    assert en.probes == 1 and en.calls == []  # the English model was unsure: identification decided
    assert multi.calls == [("es", False)] and result.language == "es"


def test_a_file_that_switches_language_is_transcribed_with_per_window_identification():
    guess = LanguageGuess("en", 0.8, ((0.0, "en", 0.95), (300.0, "de", 0.9), (600.0, "en", 0.9)))
    en, multi = FakeWhisper("tiny.en"), FakeWhisper("base", guess)
    result = RoutedTranscriber(en, multi, decoder=_silence).transcribe(Path("mixed.mp4"))
    assert multi.calls == [("en", True)] and en.calls == []
    assert result.languages == ("en", "de")


def test_a_forced_language_skips_identification():
    en, multi = FakeWhisper("tiny.en"), FakeWhisper("base", LanguageGuess("es", 0.9))
    RoutedTranscriber(en, multi, language="en", decoder=_silence).transcribe(Path("a.mp4"))
    RoutedTranscriber(en, multi, language="de", decoder=_silence).transcribe(Path("b.mp4"))
    assert multi.identified == 0 and en.calls == [("en", False)] and multi.calls == [("de", False)]


def test_a_weak_second_language_does_not_make_a_file_mixed():
    guess = LanguageGuess("fr", 0.7, ((0.0, "fr", 0.8), (60.0, "en", 0.4)))
    assert guess.languages == ("fr",)


def test_a_short_file_the_english_model_is_sure_of_skips_identification():
    en, multi = FakeWhisper("tiny.en", confidence=SURE), FakeWhisper("base", LanguageGuess("es", 0.9))
    result = RoutedTranscriber(en, multi, decoder=_silence).transcribe(Path("talk.mp4"))
    assert en.probes == 1 and en.calls == [] and multi.identified == 0 and multi.calls == []
    assert result.language == "en" and result.languages == ("en",)


def test_a_multilingual_model_is_no_english_probe():
    # Told "English", base translates Spanish speech into confident English: it cannot tell languages apart.
    en, multi = FakeWhisper("base", confidence=SURE), FakeWhisper("base", LanguageGuess("es", 0.9))
    RoutedTranscriber(en, multi, decoder=_silence).transcribe(Path("reunion.mp4"))
    assert en.probes == 0 and multi.identified == 1 and multi.calls == [("es", False)]


def test_the_probe_needs_enough_sure_words():
    assert SURE.heard_its_language() and not UNSURE.heard_its_language()
    assert not Confidence(words=3, mean_word_probability=0.9).heard_its_language()  # "Thank you."
    looping = Confidence(words=60, mean_word_probability=0.8, min_avg_logprob=-0.3, max_compression_ratio=3.1)
    assert not looping.heard_its_language()  # a repetition loop would have triggered the fallback
    assert not Confidence(40, 0.85, -0.4, 1.5, complete=False).heard_its_language()  # stopped at a bad window
