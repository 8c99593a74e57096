"""Cut a video's timeline into segments: uniform windows (Cloudglue's default), shots, or manual.

Segmentation is pure timeline arithmetic over the file's analysis (speech, keyframes), so re-segmenting
a file for another collection never re-runs the models. Shot detection is the one strategy that reads
pixels (`ingest.shots`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

from clipcite.domain import TimeRange
from clipcite.errors import InvalidRequest
from ingest.shots import ShotParams, detect_cuts

log = logging.getLogger(__name__)

Strategy = Literal["uniform", "shot-detector", "manual", "narrative"]


@dataclass(frozen=True)
class SegmentationConfig:
    strategy: Strategy = "uniform"
    window_seconds: float = 20.0
    hop_seconds: float | None = None
    detector: Literal["content", "adaptive"] = "content"
    threshold: float | None = None
    min_seconds: float = 1.0
    max_seconds: float = 300.0
    fill_gaps: bool = True
    manual: tuple[TimeRange, ...] = ()
    # narrative: chapters cut on shot boundaries by topic (ingest/narrative.py); described when read
    chapters: int | None = None
    min_chapters: int | None = None
    max_chapters: int | None = None
    narrative_prompt: str | None = None
    narrative_strategy: str | None = None
    start_time_seconds: float | None = None
    end_time_seconds: float | None = None
    # Cloudglue's keyframe_config (any strategy): keyframe images listed per segment
    keyframes_per_segment: int | None = None
    keyframe_max_width: int | None = None

    @classmethod
    def from_wire(cls, raw: dict[str, Any] | None, default_window: float = 20.0, param: str = "segmentation_config"
                  ) -> SegmentationConfig:
        """Validate Cloudglue's `SegmentationConfig` JSON (wire names) into this dataclass."""
        if not raw:
            return cls(window_seconds=default_window)
        if not isinstance(raw, dict):
            raise InvalidRequest("segmentation config must be an object", param=param)
        strategy = raw.get("strategy")
        if not isinstance(strategy, str) or strategy not in _STRATEGIES:
            raise InvalidRequest("strategy must be one of uniform, shot-detector, manual, narrative",
                                 param=f"{param}.strategy")
        key = strategy.replace("-", "_") + "_config"
        cfg = raw.get(key) or {}
        if not isinstance(cfg, dict):
            raise InvalidRequest(f"{key} must be an object", param=f"{param}.{key}")
        return cls(strategy=cast(Strategy, strategy), **_STRATEGIES[strategy](cfg, param, default_window),
                   start_time_seconds=_opt_float(raw.get("start_time_seconds"), f"{param}.start_time_seconds"),
                   end_time_seconds=_opt_float(raw.get("end_time_seconds"), f"{param}.end_time_seconds"),
                   **_keyframes(raw.get("keyframe_config"), f"{param}.keyframe_config"))

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"strategy": self.strategy}
        if self.strategy == "uniform":
            out["uniform_config"] = {"window_seconds": self.window_seconds,
                                     **({"hop_seconds": self.hop_seconds} if self.hop_seconds else {})}
        elif self.strategy == "shot-detector":
            out["shot_detector_config"] = {"detector": self.detector, "threshold": self.threshold,
                                           "min_seconds": self.min_seconds, "max_seconds": self.max_seconds,
                                           "fill_gaps": self.fill_gaps}
        elif self.strategy == "narrative":
            narrative = {"number_of_chapters": self.chapters, "min_chapters": self.min_chapters,
                         "max_chapters": self.max_chapters, "prompt": self.narrative_prompt,
                         "strategy": self.narrative_strategy}
            out["narrative_config"] = {k: v for k, v in narrative.items() if v is not None}
        else:
            out["manual_config"] = {"segments": [{"start_time": r.start, "end_time": r.end} for r in self.manual]}
        if self.keyframes_per_segment is not None:
            out["keyframe_config"] = {"frames_per_segment": self.keyframes_per_segment,
                                      **({"max_width": self.keyframe_max_width} if self.keyframe_max_width else {})}
        if self.start_time_seconds is not None:
            out["start_time_seconds"] = self.start_time_seconds
        if self.end_time_seconds is not None:
            out["end_time_seconds"] = self.end_time_seconds
        return out


def _opt_float(value: Any, param: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidRequest("must be a number", param=param)
    if value < 0:
        raise InvalidRequest("must not be negative", param=param)
    return float(value)


def _keyframes(raw: Any, param: str) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise InvalidRequest("keyframe_config must be an object", param=param)
    n: Any = raw.get("frames_per_segment")
    width: Any = raw.get("max_width")
    def number(v: Any) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    if not number(n) or not 0 <= n <= 8 or n != int(n):
        raise InvalidRequest("frames_per_segment must be a whole number from 0 to 8",
                             param=f"{param}.frames_per_segment")
    if width is not None and (not number(width) or not 144 <= width <= 4320):
        raise InvalidRequest("max_width must be from 144 to 4320", param=f"{param}.max_width")
    return {"keyframes_per_segment": int(n), "keyframe_max_width": int(width) if width is not None else None}


def _opt_count(value: Any, param: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
        raise InvalidRequest("must be a whole number from 1 to 100", param=param)
    return value


def uniform_windows(start: float, end: float, window: float, hop: float | None = None) -> list[TimeRange]:
    """Windows of `window` seconds every `hop` seconds; the last one is clipped to `end` (as Cloudglue
    does). Only a sliver under half a second is merged into the previous window."""
    hop = hop or window
    out: list[TimeRange] = []
    t = start
    while t < end - 1e-6:
        out.append(TimeRange(round(t, 3), round(min(t + window, end), 3)))
        if t + window >= end:
            break
        t += hop
    if hop >= window and len(out) > 1 and out[-1].duration < 0.5:
        tail = out.pop()
        out[-1] = TimeRange(out[-1].start, tail.end)
    return out


def detect_shots(path: Path, cfg: SegmentationConfig) -> list[float]:
    """Cut times (seconds) from the content or adaptive shot detector (`ingest.shots`)."""
    adaptive = cfg.detector == "adaptive"
    params = ShotParams(adaptive=adaptive, threshold=cfg.threshold if cfg.threshold is not None else 27.0)
    return detect_cuts(path, params)


def shots_to_windows(cuts: list[float], start: float, end: float, cfg: SegmentationConfig) -> list[TimeRange]:
    """Turn cut times into segments honouring min/max length (long shots are split uniformly)."""
    bounds = [start] + [c for c in sorted(cuts) if start < c < end] + [end]
    merged: list[float] = [bounds[0]]
    for b in bounds[1:-1]:
        if b - merged[-1] >= cfg.min_seconds:
            merged.append(b)
    if end - merged[-1] < cfg.min_seconds and len(merged) > 1:
        merged.pop()
    merged.append(end)
    out: list[TimeRange] = []
    for a, b in zip(merged, merged[1:], strict=False):
        if b - a > cfg.max_seconds:
            out.extend(uniform_windows(a, b, cfg.max_seconds))
        else:
            out.append(TimeRange(round(a, 3), round(b, 3)))
    return out


def span(cfg: SegmentationConfig, duration: float) -> tuple[float, float]:
    """The part of the video the segmentation covers."""
    start = min(cfg.start_time_seconds or 0.0, duration)
    end = min(cfg.end_time_seconds or duration, duration)
    if end <= start:
        raise InvalidRequest("segmentation start/end leave nothing of the video",
                             param="segmentation_config.start_time_seconds")
    return start, end


def plan_segments(cfg: SegmentationConfig, duration: float, path: Path | None = None) -> list[TimeRange]:
    """Uniform, manual and shot segments (narrative ones need the analysis: ingest/narrative.py)."""
    start, end = span(cfg, duration)
    if cfg.strategy == "uniform":
        return uniform_windows(start, end, cfg.window_seconds, cfg.hop_seconds)
    if cfg.strategy == "manual":
        clipped = [TimeRange(max(r.start, start), min(r.end, end)) for r in cfg.manual
                   if r.end > start and r.start < end]
        if not clipped:
            raise InvalidRequest("no manual segment falls inside the video",
                                 param="segmentation_config.manual_config.segments")
        return clipped
    assert path is not None, "shot detection needs the file"
    return shots_to_windows(detect_shots(path, cfg), start, end, cfg)


__all__ = ["SegmentationConfig", "plan_segments", "span", "uniform_windows", "shots_to_windows", "detect_shots"]


# One parser per strategy: its `<strategy>_config` object (wire names) -> SegmentationConfig fields.

def _uniform(cfg: dict[str, Any], param: str, default_window: float) -> dict[str, Any]:
    window = _opt_float(cfg.get("window_seconds"), f"{param}.uniform_config.window_seconds")
    window = default_window if window is None else window  # 0 is a bad value, not "use the default"
    hop = _opt_float(cfg.get("hop_seconds"), f"{param}.uniform_config.hop_seconds")
    if not 1 <= window <= 120:
        raise InvalidRequest("window_seconds must be between 1 and 120", param=f"{param}.uniform_config.window_seconds")
    if hop is not None and not 1 <= hop <= 120:
        raise InvalidRequest("hop_seconds must be between 1 and 120", param=f"{param}.uniform_config.hop_seconds")
    return {"window_seconds": window, "hop_seconds": hop}


def _shot_detector(cfg: dict[str, Any], param: str, default_window: float) -> dict[str, Any]:
    p = f"{param}.shot_detector_config"
    detector = cfg.get("detector", "content")
    if detector not in ("content", "adaptive"):
        raise InvalidRequest("detector must be 'content' or 'adaptive'", param=f"{p}.detector")
    min_s = _opt_float(cfg.get("min_seconds"), f"{p}.min_seconds") or 1.0
    max_s = _opt_float(cfg.get("max_seconds"), f"{p}.max_seconds") or 300.0
    if min_s > max_s:
        raise InvalidRequest("min_seconds exceeds max_seconds", param=p)
    return {"detector": detector, "threshold": _opt_float(cfg.get("threshold"), f"{p}.threshold"),
            "min_seconds": min_s, "max_seconds": max_s, "fill_gaps": bool(cfg.get("fill_gaps", True))}


def _manual(cfg: dict[str, Any], param: str, default_window: float) -> dict[str, Any]:
    items = cfg.get("segments")
    if not isinstance(items, list) or not items:
        raise InvalidRequest("manual_config.segments must be a non-empty list", param=f"{param}.manual_config.segments")
    ranges = []
    for i, item in enumerate(items):
        p = f"{param}.manual_config.segments[{i}]"
        if not isinstance(item, dict):
            raise InvalidRequest("each segment must be an object", param=p)
        start = _opt_float(item.get("start_time"), f"{p}.start_time")
        end = _opt_float(item.get("end_time"), f"{p}.end_time")
        if start is None or end is None or end <= start or start < 0:
            raise InvalidRequest("each segment needs 0 <= start_time < end_time", param=p)
        ranges.append(TimeRange(start, end))
    return {"manual": tuple(sorted(ranges, key=lambda r: r.start))}


def _narrative(cfg: dict[str, Any], param: str, default_window: float) -> dict[str, Any]:
    p = f"{param}.narrative_config"
    counts = {k: _opt_count(cfg.get(k), f"{p}.{k}") for k in ("number_of_chapters", "min_chapters", "max_chapters")}
    low, high = counts["min_chapters"], counts["max_chapters"]
    if low is not None and high is not None and low > high:
        raise InvalidRequest("min_chapters exceeds max_chapters", param=p)
    prompt = cfg.get("prompt")
    if prompt is not None and (not isinstance(prompt, str) or len(prompt) > 2000):
        raise InvalidRequest("prompt must be text of at most 2000 characters", param=f"{p}.prompt")
    kind = cfg.get("strategy")
    if kind not in (None, "comprehensive", "balanced", "transcript"):
        raise InvalidRequest("narrative strategy must be comprehensive, balanced or transcript", param=f"{p}.strategy")
    return {"chapters": counts["number_of_chapters"], "min_chapters": low, "max_chapters": high,
            "narrative_prompt": prompt, "narrative_strategy": kind}


_STRATEGIES = {"uniform": _uniform, "shot-detector": _shot_detector, "manual": _manual, "narrative": _narrative}
