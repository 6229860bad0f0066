"""Scene cuts between a clip's sampled frames, on generated media; by value."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.factories.media import ENCODERS, ffmpeg, text_video, two_shots
from video_qa.analysis.cut_frames import exact_cuts
from video_qa.analysis.scenes import cut_thumb, scene_cuts
from video_qa.media import probe, read_frames
from video_qa.media.plan import sampling_plan


def test_scene_cuts_between_sampled_frames(tmp_path: Path) -> None:
    path = text_video(tmp_path / "cuts.mp4", seconds=40, background="testsrc2", cuts=(13.0, 27.0))
    p = probe(path)
    frames = read_frames(path, sampling_plan(0.0, 40.0, 0.5, p), p)
    cuts = scene_cuts(frames.frames, frames.times)
    # samples every 2 s: the cut at 13 is first seen at 14, the one at 27 at 28, each within 2 s after it
    assert cuts == [[pytest.approx(14.0, abs=0.05), 2.0], [pytest.approx(28.0, abs=0.05), 2.0]]
    # on the 160x90 copies a clip part keeps instead of its frames: the same cuts
    assert scene_cuts([cut_thumb(f) for f in frames.frames], frames.times) == cuts


def test_cuts_one_and_two_samples_apart_between_still_shots_are_all_found(tmp_path: Path) -> None:
    # four still pictures of 3 s each (a slide deck, photographs): cuts at 3, 6 and 9 s, sampled
    # every 2 s (the default VIDEOQA_OCR_FPS), so each cut's neighbourhood holds another cut
    path = tmp_path / "stills.mp4"
    sources = ("smptebars=", "rgbtestsrc=", "color=c=navy:", "pal100bars=")
    inputs = [a for s in sources for a in ("-f", "lavfi", "-i", f"{s}size=320x240:rate=25:duration=3")]
    chain = "".join(f"[{i}:v]format=yuv420p,setsar=1[v{i}];" for i in range(4)) + "".join(
        f"[v{i}]" for i in range(4)) + "concat=n=4:v=1[v]"
    ffmpeg(*inputs, "-filter_complex", chain, "-map", "[v]", *ENCODERS["h264"], str(path))
    p = probe(path)
    frames = read_frames(path, sampling_plan(0.0, 12.0, 0.5, p), p)
    assert [round(t, 2) for t in frames.times] == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
    # each cut first seen at the sample after it: 3 -> 4, 6 -> 6 (its first frame), 9 -> 10
    assert scene_cuts(frames.frames, frames.times) == [[4.0, 2.0], [6.0, 2.0], [10.0, 2.0]]
    # then put on their frames, the one place a cut is timed (analysis.cut_frames, not the demux
    # pass): each at its first frame, 0.04 s (one frame at 25 fps) after the frame before it
    clip = sampling_plan(0.0, 12.0, 0.5, p)
    assert exact_cuts(str(path), p, clip, scene_cuts(frames.frames, frames.times)) == [
        [3.0, 0.04], [6.0, 0.04], [9.0, 0.04]]


@pytest.mark.parametrize("fps", [2.0, 1.0, 0.5])
def test_a_moving_shot_before_a_cut_into_a_still_one_is_not_cut(tmp_path: Path, fps: float) -> None:
    # mandelbrot (every sample changes, 15-40 of 255 apart) 0-4 s, a hard cut to still bars at 4 s:
    # one cut at 4.0, not also at the moving shot's samples measured against the bars' stillness
    path = two_shots(tmp_path / "moving-then-still.mp4", "mandelbrot", "smptebars")
    p = probe(path)
    frames = read_frames(path, sampling_plan(0.0, 8.0, fps, p), p)
    # (its uncertainty back to the sample before: a frame's time at 25 fps, so 0.52 at 2 fps)
    assert scene_cuts(frames.frames, frames.times) == [[4.0, pytest.approx(1 / fps, abs=0.04)]]
