"""Scene cuts between a clip's sampled frames, on generated media; by value."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.factories.media import text_video
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
