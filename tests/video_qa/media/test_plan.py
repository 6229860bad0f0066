from __future__ import annotations

import math
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings as hsettings
from hypothesis import strategies as st

from tests.factories.media import ffmpeg
from video_qa.config import load_settings
from video_qa.media import plan, probe
from video_qa.media.activity import clip_activity
from video_qa.media.plan import clip_edges, frame_size, tokens_for
from video_qa.media.probe import Probe

BASE = Probe(
    path="x.mp4", size=10**9, container="mp4", duration=60.0, video_codec="h264", coded_width=1280,
    coded_height=720, rotation=0, width=1280, height=720, nominal_fps=30.0, avg_fps=30.0,
    variable_fps=False, frame_count=None, time_base=Fraction(1, 15360), start_pts=0, has_audio=True,
    audio_codec="aac", bit_rate=None,
)


def fake_probe(duration: float, width: int = 1280, height: int = 720) -> Probe:
    return replace(BASE, duration=duration, width=width, height=height, coded_width=width, coded_height=height)


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
    activity=st.none() | st.lists(st.floats(min_value=0, max_value=1e7), min_size=1, max_size=1),
)
def test_plan_properties(duration: float, aspect: tuple[int, int], budget: int, activity) -> None:  # type: ignore[no-untyped-def]
    s = load_settings(token_budget_per_hour=budget)
    p = fake_probe(duration, *aspect)
    n = len(clip_edges(duration, s.clip_seconds))
    raw = None if activity is None else [activity[0] * ((i * 7919) % 13) for i in range(n)]
    clips = plan(p, s, raw)
    # cover the timeline, no gap, no overlap
    assert clips[0].start == 0.0 and clips[-1].end == duration
    for a, b in zip(clips, clips[1:]):
        assert a.end == b.start
    for c in clips:
        assert c.end - c.start <= s.clip_seconds + 1e-9
        assert (4 / c.fps) == round(4 / c.fps)  # whole seconds-per-grid multiples
        assert c.frames % 2 == 0 and 4 <= c.frames <= s.max_frames_per_clip
        assert c.width % 28 == 0 and c.height % 28 == 0
        assert s.min_pixels <= c.width * c.height <= s.max_pixels
        assert c.tokens == tokens_for(c.frames, c.width, c.height)
        assert c.tokens <= s.max_clip_tokens
        assert c.tokens <= c.budget or "floor" in c.why
    total = budget * duration / 3600
    floor_clips = sum(c.tokens for c in clips if "floor" in c.why)
    assert sum(c.tokens for c in clips if "floor" not in c.why) + floor_clips <= max(total, 0) + floor_clips
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


def test_adaptive_allocation_gives_busy_half_more_frames(tmp_path: Path) -> None:
    """First 2 minutes a still picture, last 2 minutes fast-changing scenes."""
    path = tmp_path / "still_then_busy.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "color=c=gray:s=640x360:r=30:d=120,drawbox=x=100:y=100:w=200:h=100:c=red:t=fill",
        "-f", "lavfi", "-i", "testsrc2=s=640x360:r=30:d=120,hue=H=t*3",
        "-filter_complex", "[0:v][1:v]concat=n=2:v=1[v]", "-map", "[v]",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path),
    )
    s = load_settings()
    p = probe(path)
    edges = clip_edges(p.duration, s.clip_seconds)
    activity = clip_activity(path, p, edges)
    adaptive = plan(p, s, activity)
    uniform = plan(p, load_settings(adaptive_fps=False), activity)
    still = [c for c in adaptive if c.end <= 120.0]
    busy = [c for c in adaptive if c.start >= 120.0]
    assert still and busy
    assert sum(c.frames for c in busy) > sum(c.frames for c in still)
    assert all(c.fps < 2.0 for c in still)
    # same total budget as the uniform plan
    assert sum(c.budget for c in adaptive) <= sum(c.budget for c in uniform) + len(adaptive)
    assert sum(c.tokens for c in adaptive) <= s.token_budget_per_hour * p.duration / 3600
    assert all("activity" in c.why for c in adaptive)
    assert {c.fps for c in uniform} == {2.0}


def test_activity_length_must_match() -> None:
    with pytest.raises(ValueError, match="activity"):
        plan(fake_probe(600.0), load_settings(), [1.0, 2.0])
