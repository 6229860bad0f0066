"""Small JPEG thumbnails at an exact time, for the UI, made once: ``cached_thumbnail`` keeps each one
on disk (``<data_dir>/thumbs/<video_id>/<t_ms>.jpg``, times rounded to 100 ms) and makes it again
only when the video's file was written after it."""

from __future__ import annotations

import io
import os
import shutil
import threading
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


THUMB_STEP_MS = 100  # cached thumbnails are made at times rounded to this step (the seek stays exact)


def thumb_time_ms(t: float) -> int:
    """The cache's time for a thumbnail asked at ``t`` seconds: rounded to ``THUMB_STEP_MS``."""
    return int(max(0.0, t) * 1000 / THUMB_STEP_MS + 0.5) * THUMB_STEP_MS


def thumb_path(cache_dir: Path, video_id: int, t_ms: int) -> Path:
    return Path(cache_dir) / str(int(video_id)) / f"{int(t_ms)}.jpg"


def cached_thumbnail(cache_dir: str | Path, video_id: int, path: str | Path, t: float, width: int = 320) -> Path:
    """The thumbnail of ``video_id`` near ``t`` seconds as a file under ``cache_dir``
    (``<cache_dir>/<video_id>/<t_ms>.jpg``), made from ``path`` on the first request only. Written
    to a temporary name and renamed, so a concurrent request never reads half a file."""
    target = thumb_path(Path(cache_dir), video_id, thumb_time_ms(t))
    try:
        if target.stat().st_mtime >= Path(path).stat().st_mtime:  # made after the file was last written
            return target
    except FileNotFoundError:
        pass
    jpeg = thumbnail(path, thumb_time_ms(t) / 1000, width)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.part")
    partial.write_bytes(jpeg)
    os.replace(partial, target)
    return target


def drop_thumbnails(cache_dir: str | Path, video_id: int) -> None:
    """Forget a video's cached thumbnails (its file changed and is analysed again)."""
    shutil.rmtree(Path(cache_dir) / str(int(video_id)), ignore_errors=True)
