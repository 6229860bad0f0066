"""The window on the stream's time axis: the nearest frame answers each asked time, and a stretch
of a clip without frames is noted with its two times."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from tests.factories.media import ENCODERS, INDEX_FILTER, ffmpeg, frame_index
from tests.video_qa.media.helpers import sample_clip
from video_qa.media import probe, read_frames
from video_qa.media.window import gap_notes, select_ticks

TIME_BASE = Fraction(1, 4)  # times exact in binary, so the ties below are ties


def seconds(ticks: list[int]) -> list[float]:
    return [float(t * TIME_BASE) for t in ticks]


def test_each_asked_time_takes_the_nearest_frame_ties_to_the_earlier() -> None:
    ticks = [0, 1, 2, 3]  # 0, 0.25, 0.5, 0.75 s
    asked = [0.0, 0.1, 0.125, 0.2, 0.375, 0.6, 5.0]
    assert select_ticks(asked, ticks, seconds(ticks)) == [0, 0, 0, 1, 1, 2, 3]  # past the end: the last


def test_variable_spacing_is_sampled_by_time() -> None:
    ticks = [0, 1, 5]  # 0, 0.25, 1.25 s: a frame shown for a whole second
    assert select_ticks([0.5, 0.75, 0.8, 1.0], ticks, seconds(ticks)) == [1, 1, 5, 5]


def test_no_frames_in_the_window_answers_nothing() -> None:
    assert select_ticks([0.0, 1.0], [], []) == [None, None]


def hole_note(a: float, b: float) -> str:
    return (f"no frames for {b - a:.2f} s between {a:.3f} and {b:.3f} s (damaged or dropped data, "
            "or a still stretch of a variable-rate video): asked times there took the nearest frame")


def test_gap_notes_by_value() -> None:
    times = [0.0, 1 / 30, 2 / 30, 3.0, 3 + 1 / 30, 3 + 2 / 30]
    assert gap_notes(times, 0.0, 5.0) == [hole_note(2 / 30, 3.0)]
    assert gap_notes(times, 3.0, 5.0) == []  # the hole ends where the clip starts
    assert gap_notes(times, 0.0, 2 / 30) == []  # and starts where this clip ends
    assert gap_notes([0.0, 5.0], 0.0, 5.0) == []  # too few frames to say what is usual
    # a step of over 1 s but under 10 usual spacings is no hole
    assert gap_notes([0.0, 0.5, 1.0, 2.1, 2.6], 0.0, 3.0) == []


def test_a_stretch_without_frames_is_noted_with_its_times(media_dir: Path) -> None:
    """Frames 60-149 of a 30 fps video dropped (kept timestamps): nothing between 59/30 s and 5 s.
    The clip says so with the two times, and asked times inside take the nearest frame there is."""
    path = media_dir / "hole.mp4"
    if not path.exists():
        ffmpeg("-f", "lavfi", "-i", f"color=c=black:s=320x180:r=30:d=10,{INDEX_FILTER},select='not(between(n,60,149))'",
               *ENCODERS["h264"], "-fps_mode", "passthrough", str(path))
    p = probe(path)
    result = read_frames(path, sample_clip(p, 0.0, 10.0, 1.0))
    gaps = [note for note in result.notes if note.startswith("no frames for")]
    assert gaps == [f"no frames for {5.0 - 59 / 30:.2f} s between 1.967 and 5.000 s (damaged or dropped data, "
                    "or a still stretch of a variable-rate video): asked times there took the nearest frame"]
    by_asked = dict(zip(result.asked, zip(result.times, (frame_index(image) for image in result.frames))))
    assert by_asked[3.0] == (pytest.approx(59 / 30, abs=1e-9), 59)  # 1.03 s away, the other side 2 s
    assert by_asked[4.0] == (pytest.approx(5.0, abs=1e-9), 150)
    assert by_asked[6.0] == (pytest.approx(6.0, abs=1e-9), 180)
    # an unbroken clip gets no such note
    whole = read_frames(path, sample_clip(p, 5.0, 10.0, 1.0))
    assert not [note for note in whole.notes if note.startswith("no frames for")]
