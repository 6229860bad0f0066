"""The PyAV decoder keeps its place between clips, and leaving unsampled H.264 non-reference
packets out of it changes no returned frame."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from tests.factories.media import frame_index, index_video
from tests.video_qa.media.frame_checks import assert_exact
from tests.video_qa.media.helpers import sample_clip
from video_qa.media import FrameReader, probe


def test_a_stream_left_part_way_does_not_disturb_the_next_clip(media_dir: Path) -> None:
    path = index_video(media_dir / "index_30.mp4", rate="30", seconds=24)
    p = probe(path)
    with FrameReader(path) as fr:
        for n, _ in enumerate(fr.stream(sample_clip(p, 0.0, 12.0, 2.0))):
            if n == 2:
                break  # abandoned with frames still inside the decoder
        assert_exact(fr.read(sample_clip(p, 12.0, 24.0, 2.0, index=1)), Fraction(30), p.frame_count - 1)
        assert_exact(fr.read(sample_clip(p, 0.0, 12.0, 2.0)), Fraction(30), p.frame_count - 1)


@pytest.mark.parametrize("sample_fps", [30.0, 2.0, 0.5])
def test_skipping_changes_no_returned_frame(media_dir: Path, sample_fps: float) -> None:
    """Dense (every frame asked, nothing may be skipped), the default 2 fps, and sparse sampling:
    the PyAV path returns the same frames, times and pixels with and without skipping."""
    path = index_video(media_dir / "nal_skip.mp4", seconds=12, gop=250, bframes=3)
    p = probe(path)
    clips = [sample_clip(p, 0.0, 6.0, sample_fps), sample_clip(p, 6.0, 12.0, sample_fps, index=1)]
    results = {}
    for skip in (True, False):
        with FrameReader(path, prefer="pyav", skip_nonref=skip) as reader:
            results[skip] = [reader.read(clip) for clip in clips], reader.skipped
    (with_skip, skipped), (without, none_skipped) = results[True], results[False]
    assert none_skipped == 0
    if sample_fps >= 30:
        assert skipped == 0  # every frame was asked for
    else:
        assert skipped > 0
    for a, b in zip(with_skip, without):
        assert a.times == b.times and a.missing == b.missing == []
        assert [frame_index(image) for image in a.frames] == [round(t * 30) for t in a.times]
        for x, y in zip(a.frames, b.frames):
            assert (x == y).all()
    assert Fraction(p.nominal_fps).limit_denominator(1000) == 30
