import pytest

from clipcite.domain import TimeRange
from clipcite.errors import InvalidRequest
from ingest.segment import SegmentationConfig, plan_segments, shots_to_windows, uniform_windows


def test_uniform_windows_cover_the_video():
    w = uniform_windows(0, 45, 20)
    assert w == [TimeRange(0, 20), TimeRange(20, 40), TimeRange(40, 45)]


def test_short_tail_is_kept_but_a_sliver_is_merged():
    assert uniform_windows(0, 43, 20) == [TimeRange(0, 20), TimeRange(20, 40), TimeRange(40, 43)]
    assert uniform_windows(0, 40.3, 20) == [TimeRange(0, 20), TimeRange(20, 40.3)]


def test_hop_creates_overlap():
    w = uniform_windows(0, 30, 20, hop=10)
    assert w[:2] == [TimeRange(0, 20), TimeRange(10, 30)]


def test_video_shorter_than_window():
    assert uniform_windows(0, 7.5, 20) == [TimeRange(0, 7.5)]


def test_shots_respect_min_and_max():
    cfg = SegmentationConfig(strategy="shot-detector", min_seconds=2, max_seconds=10)
    out = shots_to_windows([1.0, 5.0, 5.5, 30.0], 0, 32, cfg)
    assert out[0] == TimeRange(0, 5.0)  # cut at 1.0 is too early (min 2 s)
    assert all(r.duration <= 10 for r in out)
    assert out[-1].end == 32 and out[0].start == 0
    assert all(a.end == b.start for a, b in zip(out, out[1:], strict=False))


def test_wire_round_trip_and_defaults():
    cfg = SegmentationConfig.from_wire({"strategy": "uniform", "uniform_config": {"window_seconds": 5}})
    assert cfg.window_seconds == 5 and SegmentationConfig.from_wire(cfg.to_wire()) == cfg
    assert SegmentationConfig.from_wire(None, default_window=20).window_seconds == 20


def test_manual_segments_clipped_to_duration():
    cfg = SegmentationConfig.from_wire({"strategy": "manual", "manual_config": {"segments": [
        {"start_time": 0, "end_time": 4}, {"start_time": 4, "end_time": 99}]}})
    assert plan_segments(cfg, 10.0) == [TimeRange(0, 4), TimeRange(4, 10)]


@pytest.mark.parametrize("raw,param", [
    ({"strategy": "uniform", "uniform_config": {"window_seconds": 0.5}},
     "segmentation_config.uniform_config.window_seconds"),
    ({"strategy": "blender"}, "segmentation_config.strategy"),
    ({"strategy": "manual", "manual_config": {"segments": []}}, "segmentation_config.manual_config.segments"),
    ({"strategy": "manual", "manual_config": {"segments": [{"start_time": 5, "end_time": 2}]}},
     "segmentation_config.manual_config.segments[0]"),
    ({"strategy": "shot-detector", "shot_detector_config": {"detector": "magic"}},
     "segmentation_config.shot_detector_config.detector"),
])
def test_invalid_configs(raw, param):
    with pytest.raises(InvalidRequest) as err:
        SegmentationConfig.from_wire(raw)
    assert err.value.param == param
