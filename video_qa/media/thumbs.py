"""Small JPEG thumbnails at an exact time, for the UI."""

from __future__ import annotations

import io
from pathlib import Path

from video_qa.media.errors import MediaError
from video_qa.media.frames import FrameReader
from video_qa.media.plan import ClipPlan
from video_qa.media.probe import Probe


def thumbnail(path: str | Path, t: float, width: int = 320, probe: Probe | None = None) -> bytes:
    """JPEG of the frame nearest ``t`` seconds (upright), ``width`` pixels wide."""
    from PIL import Image  # not needed to read frames: kept out of the decoder's processes

    with FrameReader(path, probe=probe, prefer="pyav") as reader:
        p = reader.probe
        t = min(max(0.0, t), p.duration)
        height = max(2, round(width * p.height / p.width / 2) * 2)
        # a one-frame "clip": read() resizes and turns upright like every other frame
        clip = ClipPlan(index=0, start=t, end=t + 1.0, fps=1.0, frames=1, width=width, height=height,
                        tokens=0, budget=0, activity=1.0, why="thumbnail")
        frames = reader.read(clip)
    if not frames.frames:
        raise MediaError(path, f"no decodable frame near {t:.3f} s")
    buffer = io.BytesIO()
    Image.fromarray(frames.frames[0]).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()
