"""Shots from cuts, long shots split, keyframes, and shots stitched across clips, by value."""

from __future__ import annotations

import numpy as np

from video_qa.analysis.visual.shots import clip_shots, stitch_shots
from video_qa.moments.values import NewMoment

TIMES = [10.0, 11.0, 12.0, 13.0, 14.0, 15.0]


def test_shots_run_cut_to_cut_with_the_sampling_gap_as_uncertainty() -> None:
    shots = clip_shots(TIMES, [0.0] * 6, [[12.0, 1.0]], 10.0, 16.0, max_shot=30.0)
    assert [(s.start, s.end, s.start_uncertainty, s.end_uncertainty, s.first, s.last) for s in shots] == [
        (10.0, 12.0, 0.0, 1.0, 0, 1), (12.0, 16.0, 1.0, 0.0, 2, 5)]
    assert [(s.open_start, s.open_end) for s in shots] == [(True, False), (False, True)]
    assert [s.keyframe(TIMES) for s in shots] == [1, 4]  # the samples at the middles, 11.0 and 14.0


def test_a_cut_at_the_first_sample_closes_the_clip_start_and_a_long_shot_splits_at_its_largest_change() -> None:
    deltas = [0.0, 1.0, 9.0, 2.0, 1.0, 1.0]
    shots = clip_shots(TIMES, deltas, [[10.0, 1.0]], 10.0, 16.0, max_shot=4.0)
    assert [(s.start, s.end, s.start_uncertainty, s.end_uncertainty) for s in shots] == [
        (10.0, 12.0, 0.0, 1.0), (12.0, 16.0, 1.0, 0.0)]
    assert shots[0].open_start is False


def _shot(start: float, end: float, vector: list[float], open_start: bool, open_end: bool, clip: int,
          text: str = "") -> NewMoment:
    meta = {"start_uncertainty": 0.5, "end_uncertainty": 0.5, "open_start": open_start, "open_end": open_end,
            "clips": [clip]}
    v = np.asarray(vector, np.float32)
    return NewMoment(start, end, text, meta, None, v / np.linalg.norm(v), "m")


def test_stitching_joins_open_ends_whose_keyframes_agree_only() -> None:
    a = _shot(0.0, 5.0, [1, 0], False, True, 0, "tabby")
    b = _shot(5.0, 6.0, [1, 0.05], True, False, 1, "other")
    c = _shot(6.0, 10.0, [0, 1], False, True, 1)
    d = _shot(10.0, 12.0, [1, 0], True, True, 2)
    out = stitch_shots([d, c, b, a])
    assert [(m.start, m.end, m.text, m.meta["clips"]) for m in out] == [
        (0.0, 6.0, "tabby", [0, 1]), (6.0, 10.0, "", [1]), (10.0, 12.0, "", [2])]
    assert out[0].meta["open_start"] is False and out[0].meta["open_end"] is False


def test_a_long_still_shot_is_not_split_where_the_picture_does_not_change() -> None:
    """A ticking clock in a corner changes each sample a little: no change of the picture."""
    times = [float(t) for t in range(0, 60, 2)]
    deltas = [0.0] + [0.4] * 10 + [1.2] + [0.4] * 18
    shots = clip_shots(times, deltas, [], 0.0, 60.0, max_shot=20.0)
    assert [(s.start, s.end) for s in shots] == [(0.0, 60.0)]
    deltas[15] = 30.0  # the camera turns: a change, where the long shot is split
    assert [(s.start, s.end) for s in clip_shots(times, deltas, [], 0.0, 60.0, max_shot=20.0)] == [
        (0.0, 30.0), (30.0, 60.0)]


def test_a_cut_between_two_samples_keeps_its_own_time() -> None:
    # the demux pass placed the cut at 11.4 s, between the samples at 11 and 12 s
    shots = clip_shots(TIMES, [0.0] * 6, [[11.4, 0.4]], 10.0, 16.0, max_shot=30.0)
    assert [(s.start, s.end, s.start_uncertainty, s.end_uncertainty, s.first, s.last) for s in shots] == [
        (10.0, 11.4, 0.0, 0.4, 0, 1), (11.4, 16.0, 0.4, 0.0, 2, 5)]
