"""Small real test media, generated on the fly: coloured scenes with on-screen text (OpenCV) and
narration (espeak-ng), muxed with PyAV into H.264/AAC mp4 files."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16000


@dataclass(frozen=True)
class Scene:
    colour: tuple[int, int, int]  # BGR
    text: str = ""
    say: str = ""
    seconds: float | None = None  # default: speech length + 1 s
    voice: str = "en-us"  # espeak-ng voice, or "festival:voice_kal_diphone" (recorded from a real speaker)
    sound: str = ""  # an audio file (e.g. a freedesktop theme sound) played after the speech, 0.3 s apart


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


def festival_available() -> bool:
    return shutil.which("text2wave") is not None


def speak(text: str, voice: str = "en-us") -> np.ndarray:
    """Mono float32 at 16 kHz."""
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "s.wav"
        if voice.startswith("festival:"):
            subprocess.run(["text2wave", "-eval", f"({voice.split(':', 1)[1]})", "-o", str(wav)], input=text.encode(),
                           check=True, capture_output=True)
        else:
            subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(wav), text], check=True,
                           capture_output=True)
        with wave.open(str(wav)) as w:
            rate = w.getframerate()
            data = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float32) / 32768
    if rate != SAMPLE_RATE:
        idx = np.arange(0, len(data), rate / SAMPLE_RATE)
        data = np.interp(idx, np.arange(len(data)), data).astype(np.float32)
    return data


def load_sound(path: str | Path) -> np.ndarray:
    """Any audio file as mono float32 at 16 kHz (PyAV through faster-whisper's decoder)."""
    from faster_whisper.audio import decode_audio

    return decode_audio(str(path), sampling_rate=SAMPLE_RATE).astype(np.float32)


def _scene_audio(scene: Scene) -> np.ndarray:
    said = speak(scene.say, scene.voice) if scene.say else np.zeros(0, np.float32)
    if not scene.sound:
        return said
    pause = np.zeros(int(0.3 * SAMPLE_RATE) if len(said) else 0, np.float32)
    return np.concatenate([said, pause, load_sound(scene.sound)])


FREEDESKTOP_SOUNDS = Path("/usr/share/sounds/freedesktop/stereo")


def make_video(path: Path, scenes: list[Scene], size: tuple[int, int] = (480, 270), fps: int = 10,
               audio: bool = True) -> list[tuple[float, float]]:
    """Write the video; returns each scene's (start, end) in seconds."""
    import av
    import cv2

    clips = [_scene_audio(s) if audio else np.zeros(0, np.float32) for s in scenes]
    durations = [s.seconds if s.seconds else round(len(c) / SAMPLE_RATE + 1.0, 1)
                 for s, c in zip(scenes, clips, strict=False)]
    windows, t = [], 0.0
    for d in durations:
        windows.append((round(t, 3), round(t + d, 3)))
        t += d
    w, h = size
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=fps)
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        vs.options = {"preset": "ultrafast", "g": str(fps)}
        as_ = out.add_stream("aac", rate=SAMPLE_RATE) if audio else None
        if as_ is not None:
            as_.layout = "mono"
        frame_idx = 0
        for scene, d in zip(scenes, durations, strict=False):
            img = np.zeros((h, w, 3), np.uint8)
            img[:] = scene.colour
            if scene.text:
                cv2.putText(img, scene.text, (20, h // 2), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (255, 255, 255), 2,
                            cv2.LINE_AA)
            for _ in range(int(round(d * fps))):
                frame = av.VideoFrame.from_ndarray(img, format="bgr24")
                frame.pts = frame_idx
                frame.time_base = Fraction(1, fps)
                frame_idx += 1
                for pkt in vs.encode(frame):
                    out.mux(pkt)
        for pkt in vs.encode():
            out.mux(pkt)
        if as_ is not None:
            track = np.zeros(int(sum(durations) * SAMPLE_RATE), np.float32)
            for (start, _), clip in zip(windows, clips, strict=False):
                i = int((start + 0.3) * SAMPLE_RATE)
                track[i:i + len(clip)] = clip[: max(0, len(track) - i)]
            pcm = (np.clip(track, -1, 1) * 32767).astype(np.int16)
            step = 1024
            for i in range(0, len(pcm), step):
                frame = av.AudioFrame.from_ndarray(pcm[None, i:i + step], format="s16", layout="mono")
                frame.sample_rate = SAMPLE_RATE
                frame.pts = i
                frame.time_base = Fraction(1, SAMPLE_RATE)
                for pkt in as_.encode(frame):
                    out.mux(pkt)
            for pkt in as_.encode():
                out.mux(pkt)
    return windows


TWO_SCENES = [
    Scene((120, 40, 30), text="WAREHOUSE SAFETY", say="Welcome to the warehouse safety briefing for new staff."),
    Scene((30, 110, 40), text="Badge code 4471",
          say="Forklift drivers must check the tyre pressure every Monday morning."),
    Scene((40, 40, 160), text="Exit B12",
          say="In an emergency, leave through the north exit next to the loading dock."),
]


KAL, SLT = "festival:voice_kal_diphone", "festival:voice_cmu_us_slt_arctic_hts"
TWO_VOICES = [
    Scene((90, 60, 30), say="Good afternoon. The budget review for the harbour project starts on Monday.", voice=KAL),
    Scene((30, 90, 60), say="Thank you. I will present the crane maintenance schedule after lunch.", voice=SLT),
    Scene((60, 30, 90), say="The harbour budget grew by twelve percent because of the new pier.", voice=KAL),
    Scene((90, 90, 30), say="The launch date for the ferry service is the fourth of June.", voice=SLT),
]


def speech_windows(scenes: list[Scene], windows: list[tuple[float, float]]) -> list[tuple[float, float, str]]:
    """Where each scene's narration actually sounds (it starts 0.3 s into its scene), with its voice."""
    out = []
    for scene, (start, _) in zip(scenes, windows, strict=False):
        if scene.say:
            out.append((start + 0.3, start + 0.3 + len(speak(scene.say, scene.voice)) / SAMPLE_RATE, scene.voice))
    return out


MONO = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"


def make_screen_video(path: Path, states: list[tuple[list[str], float]], size: tuple[int, int] = (640, 360),
                      px: int = 16, background: tuple[int, int, int] = (18, 20, 24),
                      colour: tuple[int, int, int] = (220, 225, 215), fps: int = 10) -> list[tuple[float, float]]:
    """A silent screen recording: each state's lines drawn top-left in a monospace font of `px` pixels (PIL),
    held for its seconds. Returns each state's (start, end)."""
    import av
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(MONO, px)
    windows, t = [], 0.0
    w, h = size
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=fps)
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        vs.options = {"preset": "ultrafast", "g": str(fps)}
        idx = 0
        for lines, seconds in states:
            img = Image.new("RGB", size, background)
            draw = ImageDraw.Draw(img)
            for i, line in enumerate(lines):
                draw.text((12, 10 + i * int(px * 1.5)), line, font=font, fill=colour)
            bgr = np.asarray(img)[:, :, ::-1].copy()
            for _ in range(int(round(seconds * fps))):
                frame = av.VideoFrame.from_ndarray(bgr, format="bgr24")
                frame.pts, frame.time_base = idx, Fraction(1, fps)
                idx += 1
                for pkt in vs.encode(frame):
                    out.mux(pkt)
            windows.append((round(t, 3), round(t + seconds, 3)))
            t += seconds
        for pkt in vs.encode():
            out.mux(pkt)
    return windows
