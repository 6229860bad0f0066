"""Time formatting and parsing for people: ``h:mm:ss.s`` (UI, API, CLI)."""

from __future__ import annotations


def format_time(seconds: float | None) -> str:
    """``h:mm:ss.s`` with tenths, rounded half up; ``-`` for unknown."""
    if seconds is None:
        return "-"
    if seconds < 0:
        raise ValueError(f"negative time {seconds!r}")
    tenths = int(seconds * 10 + 0.5 + 1e-9)
    hours, rest = divmod(tenths, 36000)
    minutes, rest = divmod(rest, 600)
    secs, tenth = divmod(rest, 10)
    return f"{hours}:{minutes:02d}:{secs:02d}.{tenth}"
