"""The English probe on real tiny.en: a short English clip is transcribed once, with no language
identification; Spanish speech leaves tiny.en unsure, so the language is identified as before."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ingest.stages.speech.whisper import (
    LanguageGuess,
    RoutedTranscriber,
    SpeechOptions,
    SpeechResult,
    WhisperTranscriber,
)
from models.registry import ModelRegistry
from tests.media import espeak_available, speak

pytestmark = [pytest.mark.integration, pytest.mark.skipif(not espeak_available(), reason="needs espeak-ng")]


class Identifier:
    """Stands in for Whisper base (assembling it costs a minute): records whether identification ran."""

    multilingual = True

    def __init__(self, language: str) -> None:
        self.options = SpeechOptions(model="base", device="cpu", compute_type="int8", language=None)
        self.language, self.identified, self.transcribed = language, 0, []

    def identify(self, audio: np.ndarray) -> LanguageGuess:
        self.identified += 1
        return LanguageGuess(self.language, 0.95, ((0.0, self.language, 0.95),))

    def transcribe(self, audio, on_progress=None, language=None, mixed=False, probe=False) -> SpeechResult:
        self.transcribed.append(language)
        return SpeechResult(spans=[], language=language, options=self.options)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> WhisperTranscriber:
    path = ModelRegistry(tmp_path_factory.mktemp("models")).resolve("tiny.en", "whisper")
    return WhisperTranscriber(path, "tiny.en", threads=1)


def _clip(*sentences: str, voice: str) -> np.ndarray:
    pause = np.zeros(8000, np.float32)
    return np.concatenate([part for s in sentences for part in (speak(s, voice), pause)])


def test_a_short_english_clip_skips_identification(tiny):
    audio = _clip("The ferry to the island now leaves from the north pier.",
                  "Tickets are sold on board, and the last boat leaves at ten past eleven.", voice="en-us")
    base = Identifier("en")
    result = RoutedTranscriber(tiny, base, decoder=lambda p: audio).transcribe(Path("ferry.mp4"))  # type: ignore[arg-type]
    assert base.identified == 0 and base.transcribed == []
    assert result.language == "en" and result.confidence.heard_its_language()
    assert "pier" in " ".join(s.text for s in result.spans).lower()


def test_spanish_speech_leaves_the_english_model_unsure(tiny):
    audio = _clip("Buenos días a todos y bienvenidos a la reunión de ventas del tercer trimestre.",
                  "A partir de octubre, la nueva directora comercial será Lucía Peñalver.", voice="es")
    base = Identifier("es")
    result = RoutedTranscriber(tiny, base, decoder=lambda p: audio).transcribe(Path("reunion.mp4"))  # type: ignore[arg-type]
    assert base.identified == 1 and base.transcribed == ["es"] and result.language == "es"
