"""Speech routing: English to the fast English model, other languages (and mixed files) to the
multilingual one, a forced language skips identification."""

from pathlib import Path

import numpy as np

from ingest.speech import LanguageGuess, RoutedTranscriber, SpeechOptions, SpeechResult


def _silence(path):
    return np.zeros(16000, dtype=np.float32)


class FakeWhisper:
    def __init__(self, model, guess=None):
        self.options = SpeechOptions(model=model, device="cpu", compute_type="int8", language=None)
        self.guess, self.calls, self.identified = guess, [], 0

    def identify(self, audio):
        self.identified += 1
        return self.guess

    def transcribe(self, path, on_progress=None, language=None, mixed=False):
        self.calls.append((language, mixed))
        return SpeechResult(spans=[], language=language or "xx", options=self.options)


def test_english_goes_to_the_fast_model_after_identification():
    en, multi = FakeWhisper("tiny.en"), FakeWhisper("base", LanguageGuess("en", 0.97, ((0.0, "en", 0.97),)))
    result = RoutedTranscriber(en, multi, decoder=_silence).transcribe(Path("talk.mp4"))
    assert en.calls == [(None, False)] and multi.calls == [] and multi.identified == 1
    assert result.language == "en" and result.languages == ("en",)


def test_another_language_goes_to_the_multilingual_model_with_that_language():
    en, multi = FakeWhisper("tiny.en"), FakeWhisper("base", LanguageGuess("es", 0.9, ((0.0, "es", 0.9),)))
    result = RoutedTranscriber(en, multi, decoder=_silence).transcribe(Path("reunion.mp4"))
    assert en.calls == [] and multi.calls == [("es", False)] and result.language == "es"


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
