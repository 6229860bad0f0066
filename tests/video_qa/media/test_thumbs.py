"""A thumbnail is the frame at its time."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.factories.media import frame_index, index_video
from video_qa.media import thumbnail


def test_thumbnail_is_the_frame_at_t(media_dir: Path) -> None:
    import io

    from PIL import Image

    path = index_video(media_dir / "index_30.mp4", rate="30", seconds=24)
    image = Image.open(io.BytesIO(thumbnail(path, 7.0, width=320)))
    assert image.format == "JPEG" and image.size == (320, 180)
    assert frame_index(np.asarray(image.convert("RGB"))) == 210
