"""Benchmark media: the test factories' generators (tests/factories/media.py) and the few
commands only benchmarks need (H.264 settings of the benchmark files, stream-copy concatenation,
the whole-file decode floor, a file's duration)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from tests.factories.media import (
    FONT,
    escape_text,
    ffmpeg,
    say,
    speech_and_caption_video,
    speech_mix,
    text_video,
    wav_seconds,
)

__all__ = ["FONT", "concat_copies", "decode_floor", "duration", "escape_text", "ffmpeg", "floor_command", "h264",
           "say", "speech_and_caption_video", "speech_mix", "text_video", "wav_seconds"]


def h264(preset: str) -> list[str]:
    """x264 at CRF 23, GOP 250, 3 B-frames, yuv420p: the encoding of every benchmark file."""
    return ["-c:v", "libx264", "-preset", preset, "-crf", "23", "-g", "250", "-bf", "3", "-pix_fmt", "yuv420p"]


def concat_copies(unit: Path, copies: int, out: Path, *, faststart: bool = False) -> Path:
    """``copies`` times ``unit`` one after the other in ``out`` (concat demuxer, ``-c copy``), with
    the index moved to the front when ``faststart``; written under a temporary name, then renamed."""
    listing = out.with_suffix(".concat.txt")
    listing.write_text("".join(f"file '{unit.resolve()}'\n" for _ in range(copies)))
    part = out.with_suffix(".part.mp4")
    ffmpeg("-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy",
           *(["-movflags", "+faststart"] if faststart else []), str(part))
    part.rename(out)
    listing.unlink()
    return out


def floor_command(path: Path) -> list[str]:
    """The whole-file decode floor: ffmpeg decoding every frame of ``path`` to nothing."""
    return ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-i", str(path), "-f", "null", "-"]


def decode_floor(path: Path) -> float:
    """Wall seconds of ``floor_command(path)``."""
    began = time.perf_counter()
    subprocess.run(floor_command(path), check=True)
    return time.perf_counter() - began


def duration(path: Path) -> float:
    """The container's duration in seconds (ffprobe)."""
    done = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
                          capture_output=True, text=True, check=True)
    return float(done.stdout)
