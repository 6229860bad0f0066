"""The decoder is chosen by name, PyAV by default, and PyAV takes over from decord where decord
fails, for the frames decord had not returned."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from tests.factories.media import index_video
from tests.video_qa.media.frame_checks import NO_DECORD, assert_exact
from tests.video_qa.media.helpers import sample_clip
from video_qa.media import FrameReader, probe, read_frames


def test_an_unknown_reader_is_refused(media_dir: Path) -> None:
    with pytest.raises(ValueError, match="prefer must be one of"):
        FrameReader(media_dir / "not_probed.mp4", prefer="opencv")  # refused before the file is probed


def test_default_reader_is_pyav(media_dir: Path) -> None:
    path = index_video(media_dir / "index_30.mp4", rate="30", seconds=24)
    p = probe(path)
    result = read_frames(path, sample_clip(p, 0.0, 12.0, 2.0))
    assert result.reader == "pyav"
    assert_exact(result, Fraction(30), p.frame_count - 1)


@NO_DECORD
def test_decord_error_falls_back_to_pyav(media_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import decord

    def broken(*args: object, **kwargs: object) -> None:
        raise decord.DECORDError("simulated decoder failure")

    path = index_video(media_dir / "index_30.mp4", rate="30", seconds=24)
    p = probe(path)
    monkeypatch.setattr(decord, "VideoReader", broken)
    result = read_frames(path, sample_clip(p, 0.0, 12.0, 2.0), prefer="decord")
    assert result.reader == "pyav"
    assert any("simulated decoder failure" in note for note in result.notes)
    assert_exact(result, Fraction(30), p.frame_count - 1)


@NO_DECORD
def test_decord_failing_part_way_leaves_the_rest_to_pyav(media_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import decord

    real = decord.VideoReader.get_batch
    calls = {"n": 0}

    def second_batch_fails(self, indices):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:
            raise decord.DECORDError("simulated failure in the second batch")
        return real(self, indices)

    path = index_video(media_dir / "index_30.mp4", rate="30", seconds=24)
    p = probe(path)
    monkeypatch.setattr(decord.VideoReader, "get_batch", second_batch_fails)
    result = read_frames(path, sample_clip(p, 0.0, 24.0, 2.0), prefer="decord")  # 48 frames: 3 batches of 16
    assert result.reader == "decord,pyav"
    assert any("simulated failure in the second batch" in note for note in result.notes)
    assert len(result.frames) == 48
    assert_exact(result, Fraction(30), p.frame_count - 1)
