"""Audio for a span as 16 kHz mono float32 (ffmpeg), times from the video stream's start."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from video_qa.media.errors import MediaError

SAMPLE_RATE = 16_000


def read_audio(path: str | Path, start: float, end: float, origin: float = 0.0) -> np.ndarray:
    """Samples of ``[start, end)`` seconds as float32 in [-1, 1], 16 kHz mono.

    ``origin`` is the video stream's start time in the container (``Probe.start_time``): audio
    is cut on the same time axis as frames. A file without audio gives an empty array; a span
    past the end gives what exists.
    """
    path = Path(path)
    if end <= start:
        raise ValueError(f"empty span {start}..{end}")
    if not path.is_file():
        raise MediaError(path, "no such file")
    cmd = [
        "ffmpeg", "-nostdin", "-v", "error", "-ss", f"{origin + start:.6f}", "-i", str(path),
        "-t", f"{end - start:.6f}", "-map", "0:a:0?", "-vn", "-ac", "1", "-ar", str(SAMPLE_RATE),
        "-f", "f32le", "-",
    ]
    result = subprocess.run(cmd, capture_output=True, check=False)
    if result.returncode != 0 and b"does not contain any stream" in result.stderr:
        return np.zeros(0, dtype=np.float32)  # no audio stream: nothing was said
    if result.returncode != 0:
        reason = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise MediaError(path, f"cannot read audio: {reason[-1] if reason else 'ffmpeg failed'}")
    return np.frombuffer(result.stdout, dtype=np.float32).copy()
