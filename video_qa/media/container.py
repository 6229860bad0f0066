"""Opening and seeking a file's video stream with PyAV, failures as the file's ``MediaError``."""

from __future__ import annotations

from pathlib import Path

import av

from video_qa.media.errors import MediaError


def open_container(path: Path) -> av.container.InputContainer:
    """``path`` opened for demuxing and decoding."""
    try:
        return av.open(str(path))
    except av.error.FFmpegError as error:
        raise MediaError(path, f"cannot open for decoding: {error}") from error


def seek_keyframe(container: av.container.InputContainer, ticks: int) -> None:
    """Put the first video stream at the keyframe at or before ``ticks`` (stream time base)."""
    container.seek(ticks, stream=container.streams.video[0], backward=True, any_frame=False)
