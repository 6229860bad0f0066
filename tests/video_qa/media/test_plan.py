from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import pytest
from hypothesis import given, settings as hsettings
from hypothesis import strategies as st

from tests.video_qa.media.helpers import Scene, coverage
from video_qa.config import load_settings
from video_qa.media import plan, probe
from video_qa.media import read_frames
from video_qa.media.activity import ClipActivity, clip_activity
from video_qa.media.plan import (
    FLOOR_FPS, LEVEL_THRESHOLDS, ClipPlan, VideoShape, clip_edges, frame_size, ladder_fps, tokens_for,
)
from video_qa.media.probe import Probe

BASE = Probe(
    path="x.mp4", size=10**9, container="mp4", duration=60.0, video_codec="h264", coded_width=1280,
    coded_height=720, rotation=0, width=1280, height=720, nominal_fps=30.0, avg_fps=30.0,
    variable_fps=False, frame_count=None, time_base=Fraction(1, 15360), start_pts=0, has_audio=True,
    audio_codec="aac", bit_rate=None,
)


def fake_probe(duration: float, width: int = 1280, height: int = 720) -> Probe:
    return replace(BASE, duration=duration, width=width, height=height, coded_width=width, coded_height=height)


def activity_for(start: float, end: float, change: float | None, changes: tuple[float, ...] = ()) -> ClipActivity:
    return ClipActivity(start, end, change, change, changes)


def hour_activity(change: float, duration: float = 3600.0) -> list[ClipActivity]:
    return [activity_for(a, b, change) for a, b in clip_edges(duration, 60.0)]


def test_default_hour_plan() -> None:
    s = load_settings()
    clips = plan(fake_probe(3600.0), s)
    assert len(clips) == 60
    first = clips[0]
    assert (first.start, first.end, first.fps, first.frames) == (0.0, 60.0, 2.0, 120)
    assert first.sample_times[:3] == [0.0, 0.5, 1.0]
    assert first.width % 28 == 0 and first.height % 28 == 0
    assert first.tokens == 60 * (first.width // 28) * (first.height // 28) <= first.budget <= 24000
    assert sum(c.tokens for c in clips) <= s.token_budget_per_hour


@hsettings(max_examples=300, deadline=None)
@given(
    duration=st.floats(min_value=1.0, max_value=36000.0),
    aspect=st.sampled_from([(1280, 720), (720, 1280), (640, 480), (1920, 800), (3840, 2160), (200, 2000)]),
    budget=st.integers(min_value=400_000, max_value=5_000_000),
    change=st.none() | st.floats(min_value=0, max_value=2),
    cuts=st.lists(st.floats(min_value=0, max_value=1), max_size=6),
)
def test_plan_properties(duration: float, aspect: tuple[int, int], budget: int, change, cuts) -> None:  # type: ignore[no-untyped-def]
    s = load_settings(token_budget_per_hour=budget)
    p = fake_probe(duration, *aspect)
    edges = clip_edges(duration, s.clip_seconds)
    activity = None if change is None else [
        activity_for(a, b, change * ((i * 7919) % 13) / 13, tuple(sorted(a + f * (b - a) for f in cuts)))
        for i, (a, b) in enumerate(edges)
    ]
    clips = plan(p, s, activity)
    # cover the timeline, no gap, no overlap
    assert clips[0].start == 0.0 and clips[-1].end == duration
    for a, b in zip(clips, clips[1:]):
        assert a.end == b.start
    assert len({(c.width, c.height) for c in clips}) == 1  # one frame size for the whole video
    for c in clips:
        assert c.end - c.start <= s.clip_seconds + 1e-9
        assert (4 / c.fps) == round(4 / c.fps)  # whole seconds-per-grid multiples
        assert c.fps >= FLOOR_FPS or "lowered" in c.why
        assert 0 <= c.offset < 1 / c.fps
        assert c.frames % 2 == 0 and 4 <= c.frames <= s.max_frames_per_clip
        assert c.width % 28 == 0 and c.height % 28 == 0
        assert s.min_pixels <= c.width * c.height <= s.max_pixels
        assert c.tokens == tokens_for(c.frames, c.width, c.height)
        assert c.tokens <= s.max_clip_tokens
        assert c.tokens <= c.budget or "floor" in c.why
        assert c.sample_times == sorted(c.sample_times) and c.sample_times[0] >= c.start
    total = budget * duration / 3600
    assert sum(c.tokens for c in clips if "floor" not in c.why) <= total + 1
    assert sum(c.budget for c in clips) <= total + 1


def test_frame_size_bounds() -> None:
    w, h = frame_size(1280, 720, 10**9, 128 * 784, 768 * 784)
    assert w * h <= 768 * 784 and w % 28 == 0 and h % 28 == 0
    assert abs(w / h - 16 / 9) < 0.1
    w, h = frame_size(1280, 720, 1, 128 * 784, 768 * 784)
    assert w * h >= 128 * 784


def test_low_budget_lowers_the_rate_not_below_ladder() -> None:
    s = load_settings(token_budget_per_hour=300_000)
    clip = plan(fake_probe(600.0), s)[0]
    assert clip.fps < 2.0 and (4 / clip.fps) == round(4 / clip.fps)
    assert clip.tokens <= clip.budget
    assert "lowered" in clip.why


def test_activity_length_must_match() -> None:
    with pytest.raises(ValueError, match="activity"):
        plan(fake_probe(600.0), load_settings(), [activity_for(0.0, 300.0, 0.1)] * 2)


# ---- the rate follows the picture

def test_a_still_clip_gets_the_floor_rate_and_a_busy_one_the_base_rate() -> None:
    s = load_settings()
    still = plan(fake_probe(3600.0), s, hour_activity(0.001))
    busy = plan(fake_probe(3600.0), s, hour_activity(0.5))
    assert {c.fps for c in still} == {FLOOR_FPS} and all("the floor" in c.why and "still" in c.why for c in still)
    assert {c.fps for c in busy} == {2.0} and all("busy" in c.why for c in busy)
    assert [c.frames for c in still[:1]] == [16] and still[0].sample_times[:3] == [0.0, 4.0, 8.0]
    # the same frame size either way: only the rate follows the picture
    assert {(c.width, c.height) for c in still} == {(c.width, c.height) for c in busy} == {(672, 364)}
    assert sum(c.tokens for c in still) == 60 * 8 * 312 <= 0.35 * s.token_budget_per_hour
    assert sum(c.tokens for c in busy) == 60 * 60 * 312 >= 0.9 * s.token_budget_per_hour


def test_levels_by_value() -> None:
    s = load_settings()
    rates = [plan(fake_probe(60.0), s, [activity_for(0.0, 60.0, c)])[0].fps for c in (0.0, 0.005, 0.01, 0.08, 0.2)]
    assert rates == [0.25, 0.25, 0.5, 1.0, 2.0]
    assert LEVEL_THRESHOLDS == (0.006, 0.06, 0.15)


def test_equal_content_gets_an_equal_plan() -> None:
    s = load_settings()
    one = activity_for(0.0, 60.0, 0.03, (12.5, 40.0))
    same = [ClipActivity(a, b, one.change, one.peak, tuple(c + a for c in one.changes)) for a, b in clip_edges(600.0, 60.0)]
    clips = plan(fake_probe(600.0), s, same)
    assert len({(c.fps, c.frames, c.width, c.height, round(c.offset, 9), c.tokens) for c in clips}) == 1


def test_near_equal_neighbours_keep_one_level() -> None:
    """Values either side of a threshold (0.0059 / 0.0062) do not alternate between rates."""
    s = load_settings()
    values = [0.0059, 0.0062] * 5
    clips = plan(fake_probe(600.0), s, [activity_for(a, b, v) for (a, b), v in zip(clip_edges(600.0, 60.0), values)])
    assert {c.fps for c in clips} == {0.25}
    far = [0.001, 0.01] * 5  # real differences still change the rate
    clips = plan(fake_probe(600.0), s, [activity_for(a, b, v) for (a, b), v in zip(clip_edges(600.0, 60.0), far)])
    assert [c.fps for c in clips] == [0.25, 0.5] * 5


@pytest.mark.parametrize("change,sharp,within", [
    (0.001, False, 0.15),  # something entering a still view: a sample right at the found onset
    (0.08, True, 0.9),  # a cut in moving content: within 1 s (less the cut's frame of slack)
    (0.001, True, 1.9),  # a slide change: the new picture stays, within 2 s
])
def test_a_change_inside_a_clip_gets_a_sample_after_it(change: float, sharp: bool, within: float) -> None:
    s = load_settings()
    for cut in (0.0, 3.3, 17.9, 41.05, 58.7, 59.95):
        first = ClipActivity(0.0, 60.0, change, change, (cut,), (cut,) if sharp else ())
        clips = plan(fake_probe(120.0), s, [first, activity_for(60.0, 120.0, change)])
        times = [t for c in clips for t in c.sample_times]
        assert any(cut <= t <= cut + within + 1e-9 for t in times), (cut, [c.why for c in clips])
        assert clips[0].fps == plan(fake_probe(120.0), s, [activity_for(0.0, 60.0, change)] * 2)[0].fps  # the phase alone


def test_two_cuts_the_floor_cannot_phase_raise_the_rate() -> None:
    clips = plan(fake_probe(60.0), load_settings(), [activity_for(0.0, 60.0, 0.001, (10.0, 20.0))])
    assert clips[0].fps == 0.5 and "raised 1 level" in clips[0].why
    assert coverage((10.0, 20.0), clips[0].sample_times, 0.5)


def test_intra_only_and_off_take_the_top_rate() -> None:
    s = load_settings()
    (intra,) = plan(fake_probe(60.0), s, [activity_for(0.0, 60.0, None)])
    assert intra.fps == 2.0 and "intra-only" in intra.why and intra.activity == -1.0
    (off,) = plan(fake_probe(60.0), load_settings(adaptive_fps=False), [activity_for(0.0, 60.0, 0.001)])
    assert off.fps == 2.0 and "adaptive fps off" in off.why


def test_every_rate_the_plan_can_choose_is_on_the_ladder() -> None:
    """The rates tests/model/test_rope.py checks by value (its PLAN_RATES)."""
    seen = set()
    for top_k in range(1, 17):
        seen.update(ladder_fps(k) for k in VideoShape(top_k, 28, 28, 0, False).rates())
    assert all(4 / r == round(4 / r) for r in seen)
    assert min(seen) >= FLOOR_FPS


def test_the_plan_round_trips_through_its_stored_dict() -> None:
    (clip,) = plan(fake_probe(60.0), load_settings(), [activity_for(0.0, 60.0, 0.001, (41.05,))])
    assert clip.offset > 0
    assert ClipPlan(**clip.to_dict()) == clip
    old = {k: v for k, v in clip.to_dict().items() if k != "offset"}  # a row stored before the offset
    assert ClipPlan(**old).offset == 0.0


# ---- on generated files

def plan_file(scene: Scene, **overrides):  # type: ignore[no-untyped-def]
    s = load_settings(**overrides)
    p = probe(scene.path)
    return p, plan(p, s, clip_activity(scene.path, p, clip_edges(p.duration, s.clip_seconds)))


def test_a_still_file_gets_the_floor_rate(still_scene: Scene) -> None:
    _, clips = plan_file(still_scene, clip_seconds=20.0)
    assert [c.fps for c in clips] == [FLOOR_FPS, FLOOR_FPS]


def test_identical_clips_get_identical_plans_and_every_change_is_seen(looped_scene: Scene) -> None:
    p, clips = plan_file(looped_scene, clip_seconds=15.0)
    assert len(clips) == 4
    shape = {(c.fps, c.frames, c.width, c.height, round(c.offset, 6), c.tokens) for c in clips[1:]}
    assert len(shape) == 1, [c.why for c in clips]  # the three repeats: one plan
    times = [t for c in clips for t in c.sample_times]
    assert coverage(looped_scene.changes, times, 1.0) == 1.0, [c.why for c in clips]


def test_the_reader_returns_the_frames_the_offset_asks_for(slides_scene: Scene) -> None:
    p, clips = plan_file(slides_scene, clip_seconds=20.0)
    shifted = [c for c in clips if c.offset > 0]
    assert shifted, [c.why for c in clips]
    frames = read_frames(slides_scene.path, shifted[0], p)
    assert frames.asked == shifted[0].sample_times
    assert all(abs(t - a) <= 1 / 60 + 1e-9 for t, a in zip(frames.times, frames.asked))
    assert coverage(slides_scene.changes, [t for c in clips for t in c.sample_times], 1.0) == 1.0


def test_a_short_still_clip_keeps_its_four_frames_inside_it() -> None:
    (clip,) = plan(fake_probe(4.0), load_settings(), [activity_for(0.0, 4.0, 0.001)])
    assert (clip.fps, clip.frames) == (1.0, 4) and "needs 1 fps" in clip.why
    assert clip.sample_times == [0.0, 1.0, 2.0, 3.0]
