"""What a reader hands out: a clip collected into one block that the vision model takes as it is."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.factories.media import frame_index, index_video
from tests.video_qa.media.helpers import sample_clip
from video_qa.media import probe, read_frames


def test_read_returns_one_block_that_the_model_takes_without_a_copy(media_dir: Path) -> None:
    from model.vlm import as_block

    path = index_video(media_dir / "index_30.mp4", rate="30", seconds=24)
    p = probe(path)
    clip = sample_clip(p, 0.0, 12.0, 2.0)
    result = read_frames(path, clip)
    block = result.images
    assert block is result.array and block.shape == (24, clip.height, clip.width, 3) and block.flags.c_contiguous
    assert all(np.shares_memory(image, block) for image in result.frames)
    assert as_block(block) is block
    assert [frame_index(image) for image in block] == [round(t * 30) for t in result.times]
