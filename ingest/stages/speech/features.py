"""Whisper's log-mel features computed a minute at a time.

faster-whisper's `FeatureExtractor` takes the STFT of the whole (speech-only) audio at once: for an hour
that is a complex128 array of ~1 GB plus copies, the largest allocation of a long ingest, growing with
the length of the video. This subclass frames and transforms the same padded waveform in blocks and
writes each block's mel magnitudes into one float32 array (80 x frames: ~115 MB for an hour), then
applies the same global log and dynamic-range clamp, so the features are the same as the library's,
value for value (a unit test compares them).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from faster_whisper.feature_extractor import FeatureExtractor

BLOCK_FRAMES = 6000  # one minute of 10 ms frames per FFT block


class BlockedFeatureExtractor(FeatureExtractor):
    def __call__(self, waveform: np.ndarray, padding: int = 160, chunk_length: int | None = None) -> np.ndarray:
        if chunk_length is not None:
            self.n_samples = chunk_length * self.sampling_rate
            self.nb_max_frames = self.n_samples // self.hop_length
        waveform = np.asarray(waveform, dtype=np.float32)
        if padding:
            waveform = np.pad(waveform, (0, padding))
        n_fft, hop = self.n_fft, self.hop_length
        window = np.hanning(n_fft + 1)[:-1].astype("float32")
        padded = np.pad(waveform, (n_fft // 2, n_fft // 2), mode="reflect")  # the library's center=True
        n_frames = 1 + (len(padded) - n_fft) // hop
        frames = np.lib.stride_tricks.as_strided(padded, (n_frames, n_fft), (hop * padded.strides[0],
                                                                             padded.strides[0]))
        kept = n_frames - 1  # the library drops the last frame (`stft[..., :-1]`)
        mel = np.empty((self.mel_filters.shape[0], max(kept, 0)), dtype=np.float32)
        for s in range(0, kept, BLOCK_FRAMES):
            e = min(s + BLOCK_FRAMES, kept)
            spectrum = np.fft.rfft(frames[s:e] * window, n=n_fft, axis=-1).astype("complex64")
            mel[:, s:e] = self.mel_filters @ (np.abs(spectrum) ** 2).T
        # In place: each of the library's four temporaries would be another copy of an hour's features.
        np.clip(mel, 1e-10, None, out=mel)
        np.log10(mel, out=mel)
        np.maximum(mel, mel.max() - 8.0, out=mel)
        mel += 4.0
        mel /= 4.0
        return mel


def bound_features(model: Any) -> Any:
    """Give a loaded `WhisperModel` the blocked extractor (same parameters as the one it built)."""
    fe = model.feature_extractor
    model.feature_extractor = BlockedFeatureExtractor(feature_size=fe.mel_filters.shape[0],
                                                      sampling_rate=fe.sampling_rate, hop_length=fe.hop_length,
                                                      chunk_length=fe.chunk_length, n_fft=fe.n_fft)
    return model
