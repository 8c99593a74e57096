"""Speech re-heard against the screen, on real models (tiny.en, RapidOCR, festival's recorded voice): invented
names that the recogniser first writes as other words are spelled as the slide spells them, and a sentence
with nothing like it on screen is left as first heard."""

from __future__ import annotations

import pytest

from ingest.probe import probe
from ingest.runtime import _analyzer
from ingest.stages.speech.rehear import CONFIRMED
from models.devices import plan_devices
from models.registry import ModelRegistry
from tests.conftest import make_settings
from tests.media import KAL, Scene, festival_available, make_video

pytestmark = [pytest.mark.integration, pytest.mark.skipif(not festival_available(), reason="needs festival")]

SCENES = [Scene((40, 90, 40), text="Mascot: Quibbleton", say="Say hello to Quibbleton, our new mascot.", voice=KAL),
          Scene((90, 40, 40), text="Venue: Glenmorrow Pavilion", say="The meeting is held at the Glenmorrow Pavilion.",
                voice=KAL),
          Scene((40, 40, 90), text="Thank you", say="That is all for today.", voice=KAL)]


def _speech(tmp_path, hints: bool) -> list:
    settings = make_settings(tmp_path / f"data-{hints}", whisper_model="tiny.en", speech_screen_hints=hints,
                             speakers_enabled=False, audio_description_enabled=False)
    analyzer = _analyzer(settings, plan_devices(settings.device, settings.threads),
                         ModelRegistry(settings.models_dir), None, False)
    path = tmp_path / "mascot.mp4"
    if not path.exists():
        make_video(path, SCENES, size=(640, 360))
    return analyzer.analyze(path, probe(path)).speech


def test_names_misheard_are_spelled_as_the_screen_shows_them(tmp_path):
    first = " ".join(s.text for s in _speech(tmp_path, hints=False))
    spans = _speech(tmp_path, hints=True)
    text = " ".join(s.text for s in spans)
    assert "Quibbleton" not in first or "Glenmorrow" not in first, first  # the recogniser alone misspells
    assert "Quibbleton" in text and "Glenmorrow" in text, text
    assert any(w.probability == CONFIRMED for s in spans for w in s.words)
    assert "That is all for today" in text  # nothing like it on screen: as first heard
    for span in spans:  # word times stay inside their utterance
        assert all(span.start - 0.5 <= w.start <= w.end <= span.end + 0.5 for w in span.words), span
