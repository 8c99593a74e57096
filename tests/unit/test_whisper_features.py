"""The blocked Whisper features (bounded memory for hour-long audio) equal faster-whisper's own, value for
value, over several blocks and a partial last one, with and without the chunk_length argument."""

import numpy as np
import pytest
from faster_whisper.feature_extractor import FeatureExtractor

import ingest.stages.speech.features as wf


@pytest.mark.parametrize("seconds", [0.3, 7.0, 31.7])
def test_blocked_features_equal_the_librarys(monkeypatch, seconds):
    monkeypatch.setattr(wf, "BLOCK_FRAMES", 256)
    rng = np.random.default_rng(5)
    t = np.arange(int(16000 * seconds)) / 16000
    audio = (0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(len(t))).astype(np.float32)
    ours, theirs = wf.BlockedFeatureExtractor(), FeatureExtractor()
    for kw in ({}, {"chunk_length": 30}):
        a, b = ours(audio, **kw), theirs(audio, **kw)
        assert a.shape == b.shape and a.dtype == b.dtype
        assert np.allclose(a, b, atol=1e-5), np.abs(a - b).max()
    assert ours.nb_max_frames == theirs.nb_max_frames
