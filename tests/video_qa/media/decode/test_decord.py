"""decord reads the codecs it is listed for exactly; PyAV takes AV1 and HEVC from it."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from tests.factories.media import index_video
from tests.video_qa.media.frame_checks import READERS, assert_exact
from tests.video_qa.media.helpers import sample_clip
from video_qa.media import probe, read_frames


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("codec", ["av1", "hevc", "vp9"])
def test_other_codecs(media_dir: Path, codec: str, reader: str) -> None:
    ext = "webm" if codec == "vp9" else "mp4"
    path = index_video(media_dir / f"index_{codec}.{ext}", codec=codec, seconds=8, gop=120)
    p = probe(path)
    assert p.video_codec == codec
    result = read_frames(path, sample_clip(p, 0.0, 8.0, 2.0), prefer=reader)
    assert_exact(result, Fraction(30), 239)
    if codec in ("av1", "hevc"):
        # decord cannot open AV1 and returns HEVC frames a few indices off: PyAV takes over
        assert result.reader == "pyav"
        if reader == "decord":
            assert any("decord" in note for note in result.notes)
    else:
        assert result.reader == reader
