"""Shot cuts from per-frame scores (`ingest.shots.cuts`): a lone spike is a cut, a pan's high scores are
not (adaptive), and cuts keep their minimum distance."""

from ingest.shots import ShotParams, cuts


def _times(n: int) -> list[float]:
    return [i / 25 for i in range(n)]


def test_adaptive_cut_is_a_spike_above_its_neighbours():
    scores = [1.0] * 60
    scores[30] = 40.0
    assert cuts(_times(60), scores) == [30 / 25]


def test_adaptive_ignores_a_pan_where_every_frame_changes_a_lot():
    scores = [30.0 + (i % 3) for i in range(60)]
    assert cuts(_times(60), scores) == []
    assert cuts(_times(60), scores, ShotParams(adaptive=False)) == [15 / 25, 30 / 25, 45 / 25]


def test_cuts_keep_the_minimum_distance():
    scores = [0.0] * 60
    scores[20] = scores[25] = scores[50] = 50.0
    assert cuts(_times(60), scores, ShotParams(adaptive=False)) == [20 / 25, 50 / 25]


def test_adaptive_spike_after_stillness_needs_its_own_score():
    scores = [0.0] * 40
    scores[20] = 10.0  # all neighbours still, but too small a change to be a cut
    assert cuts(_times(40), scores) == []
    scores[20] = 20.0
    assert cuts(_times(40), scores) == [20 / 25]


def test_ocr_boxes_of_one_row_are_one_line_in_reading_order():
    import numpy as np

    from ingest.stages.scene_text.ocr import join_rows

    def box(x, y, w, h):
        return np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], np.float32)

    lines = join_rows([("-3 %", box(300, 52, 40, 18)), ("harrow", box(20, 50, 60, 20)),
                       ("Site", box(20, 10, 40, 20)),
                       ("Change", box(290, 11, 70, 18)), ("+11 %", box(295, 92, 48, 18)),
                       ("tilbury", box(20, 90, 60, 20))])
    assert lines == ["Site Change", "harrow -3 %", "tilbury +11 %"]
