"""Whether a media file is cut short: its container claims more than its packets hold.

A download that stopped half way keeps the header written first (an MP4 with its index at the
front, a Matroska file's segment info), so the container still claims the whole length while the
packets end early. ``claimed_length`` reads the claim from ffprobe's report, ``truncated_claim``
decides (with, for MP4, the top-level boxes that run past the end of the file), and
``truncation_notice`` says it in the user's words.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

# a claim longer than the packets by more than this (seconds, or this share of the claim) is a cut
TRUNCATION_SECONDS, TRUNCATION_SHARE = 1.0, 0.02
MP4_MAX_BOXES = 100_000  # top-level boxes walked at most (fragmented files have one pair per fragment)


def truncation_notice(readable: float, claimed: float) -> str:
    """``truncated: 15 s of 30 s readable``: a truncated file in the user's words."""

    def seconds(value: float) -> str:
        return f"{value:.1f}".removesuffix(".0")

    return f"truncated: {seconds(readable)} s of {seconds(claimed)} s readable"


def _clock_seconds(text: str) -> float | None:
    """``HH:MM:SS.fraction`` (Matroska's per-stream DURATION tag) in seconds, or None."""
    hours, _, rest = text.partition(":")
    minutes, _, secs = rest.partition(":")
    try:
        return int(hours) * 3600 + int(minutes) * 60 + float(secs)
    except ValueError:
        return None


def claimed_length(stream: dict[str, Any], fmt: dict[str, Any], start_time: float) -> float | None:
    """How long the container says the video is, from its start: the smallest of the stream's
    duration, its DURATION tag and the format's duration, less the start time when that is positive
    (some containers write the end time there); None when nothing is claimed."""
    found: list[float] = []
    for text in (stream.get("duration"), fmt.get("duration")):
        try:
            found.append(float(text))
        except (TypeError, ValueError):
            pass
    tag = (stream.get("tags") or {}).get("DURATION")
    if isinstance(tag, str) and (seconds := _clock_seconds(tag)) is not None:
        found.append(seconds)
    found = [f for f in found if math.isfinite(f) and f > 0]
    if not found:
        return None
    claim = min(found) - max(0.0, start_time)
    return claim if claim > 0 else None


def mp4_bytes_missing(path: Path, size: int) -> int:
    """For an MP4/MOV file: how many bytes its top-level boxes (``moov``, ``mdat``...) declare past
    the end of the file (0 when they fit, or for another container)."""
    offset = 0
    with path.open("rb") as f:
        for _ in range(MP4_MAX_BOXES):
            if offset + 8 > size:
                break
            f.seek(offset)
            header = f.read(16)
            box_size, kind = int.from_bytes(header[:4], "big"), header[4:8]
            if offset == 0 and kind != b"ftyp":
                return 0
            if box_size == 1 and len(header) == 16:
                box_size = int.from_bytes(header[8:16], "big")
            if box_size == 0:  # runs to the end of the file
                return 0
            if box_size < 8:
                break  # not a box: nothing to say
            offset += box_size
    return max(0, offset - size)


def truncated_claim(path: Path, size: int, claim: float | None, duration: float, frame: float) -> float | None:
    """The claim, when the file is cut: it exceeds the packets' length by more than
    ``TRUNCATION_SECONDS`` or ``TRUNCATION_SHARE`` of itself, or by more than a frame where an MP4's
    boxes run past the end of the file."""
    if claim is None or claim - duration <= frame / 2:
        return None
    if claim - duration > max(TRUNCATION_SECONDS, TRUNCATION_SHARE * claim):
        return claim
    return claim if claim - duration > frame and mp4_bytes_missing(path, size) > 0 else None
