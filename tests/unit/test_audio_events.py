"""Sound events: the numpy YAMNet front end, turning patch scores into merged events, and their place in
segments and the API's shapes. The model itself runs in tests/integration/test_audio_description.py."""

import numpy as np

from clipcite.domain import Segment, SoundEvent, TimeRange
from engine.prompting import render_segment
from ingest.indexing import sounds_in
from ingest.stages.audio.yamnet import PATCH_HOP_SECONDS, PATCH_SECONDS, log_mel, mel_filterbank, merge_events, patches

NAMES = ["Speech", "Music", "Alarm clock", "Glass", "Silence"]


def test_front_end_shapes_and_a_tone_lands_in_its_mel_band():
    t = np.arange(16000 * 2) / 16000
    tone = 0.5 * np.sin(2 * np.pi * 1000 * t).astype(np.float32)
    mel = log_mel(tone)
    assert mel.shape == (1 + (len(tone) - 512) // 160, 64)
    fb = mel_filterbank()
    peak_bin = int(np.argmax(fb[round(1000 / 8000 * 256)]))  # the filter that 1 kHz falls into
    assert abs(int(np.argmax(mel.mean(axis=0))) - peak_bin) <= 1
    assert patches(mel).shape[1:] == (96, 64) and len(patches(mel)) == 1 + (len(mel) - 96) // 48
    assert patches(log_mel(tone[:4000])).shape == (1, 96, 64)  # a short clip is padded to one patch


def _scores(rows):
    return np.array(rows, dtype=np.float32)


def test_runs_of_patches_become_one_event_and_speech_is_never_one():
    s = _scores([[0.99, 0.0, 0.0, 0.0, 0.0],
                 [0.99, 0.9, 0.0, 0.0, 0.0],
                 [0.99, 0.9, 0.0, 0.0, 0.0],
                 [0.99, 0.0, 0.0, 0.0, 0.0],  # a one-patch gap is bridged
                 [0.99, 0.9, 0.0, 0.0, 0.0],
                 [0.0, 0.0, 0.0, 0.0, 0.99]])
    events = merge_events(s, NAMES)
    assert [(e.text, e.start_time, e.end_time) for e in events] == [
        ("music", round(PATCH_HOP_SECONDS, 2), round(4 * PATCH_HOP_SECONDS + PATCH_SECONDS, 2))]


def test_weak_neighbours_are_dropped():
    """An alarm clock's beeps: the right class at 0.68, a neighbour ("glass") at 0.50 never above."""
    s = _scores([[0.0, 0.0, 0.68, 0.5, 0.0], [0.0, 0.0, 0.82, 0.5, 0.0]])
    assert [e.text for e in merge_events(s, NAMES)] == ["alarm clock"]


def test_segments_hold_the_sounds_heard_in_them_clipped_and_once():
    events = [SoundEvent("music", 15.0, 26.0, 0.9), SoundEvent("music", 27.0, 28.0, 0.7),
              SoundEvent("alarm clock", 40.5, 42.0, 0.8)]
    first = sounds_in(events, TimeRange(0.0, 20.0))
    second = sounds_in(events, TimeRange(20.0, 40.0))
    assert [(e.text, e.start_time, e.end_time) for e in first] == [("music", 15.0, 20.0)]
    assert [(e.text, e.start_time, e.end_time, e.score) for e in second] == [("music", 20.0, 28.0, 0.9)]


def test_the_prompt_and_the_payload_carry_the_sounds_with_their_times():
    seg = Segment(collection_id="c", file_id="f", segment_id="s", index=0, start_time=0.0, end_time=20.0,
                  sounds=[SoundEvent("alarm clock", 12.0, 15.0, 0.8)], file_info={"filename": "drill.mp4"})
    assert "sounds (automatic labels): alarm clock (00:12-00:15)" in render_segment(1, seg, 400)
    back = Segment.from_payload(seg.to_payload())
    assert back.sounds == seg.sounds and back.sound_text == "alarm clock"
    assert "sounds: alarm clock" in seg.modality_lines("speech: ", "on screen: ", "visual: ")


def test_log_mel_in_blocks_equals_the_whole_spectrum_at_once(monkeypatch):
    """Blocked (bounded memory for hour-long audio) and one-shot log-mel agree frame by frame."""
    import numpy as np

    import ingest.stages.audio.yamnet as ae

    rng = np.random.default_rng(3)
    audio = rng.standard_normal(16000 * 7).astype(np.float32) * 0.1
    n = 1 + (len(audio) - ae.N_FFT) // ae.HOP
    frames = np.lib.stride_tricks.as_strided(audio, shape=(n, ae.N_FFT), strides=(4 * ae.HOP, 4))
    whole = np.log(np.abs(np.fft.rfft(frames * ae._WINDOW, n=ae.N_FFT)).astype(np.float32) @ ae._FBANK
                   + ae.LOG_OFFSET)
    monkeypatch.setattr(ae, "MEL_BLOCK_FRAMES", 128)  # several blocks, the last one partial
    blocked = ae.log_mel(audio)
    assert blocked.shape == whole.shape and np.allclose(blocked, whole, atol=1e-5)
