"""Times written for people and players, the one place that does it.

- ``format_time``: ``h:mm:ss.s`` (UI, API, CLI, prompts), tenths rounded half up; ``-`` for unknown.
- ``cue_time``: ``hh:mm:ss.mmm`` (WebVTT) or ``hh:mm:ss,mmm`` (SRT) cue times, rounded to the nearest
  millisecond (Python's ``round``: an exact half goes to the even millisecond); negative is 0.
- ``clock_time`` / ``clock_span``: the web app's one format, ``h:mm:ss`` (``format_time`` cut to
  whole seconds), a tenth only when the moment's uncertainty is under 0.25 s, `` ±N s`` when it is
  1 s or more; ``start–end`` for a moment.

Both round once, to whole units (tenths or milliseconds), and only then split the units into hours,
minutes and seconds, so a carry (59.96 s -> ``0:01:00.0``) is never written as ``0:00:60.0``.
"""

from __future__ import annotations


def _clock(units: int, per_second: int, hour_digits: int, separator: str) -> str:
    """``units`` (whole 1/``per_second`` seconds) as hours:minutes:seconds<separator>fraction."""
    hours, rest = divmod(units, 3600 * per_second)
    minutes, rest = divmod(rest, 60 * per_second)
    secs, fraction = divmod(rest, per_second)
    fraction_digits = len(str(per_second)) - 1
    return f"{hours:0{hour_digits}d}:{minutes:02d}:{secs:02d}{separator}{fraction:0{fraction_digits}d}"


def format_time(seconds: float | None) -> str:
    """``h:mm:ss.s`` with tenths, rounded half up; ``-`` for unknown."""
    if seconds is None:
        return "-"
    if seconds < 0:
        raise ValueError(f"negative time {seconds!r}")
    return _clock(int(seconds * 10 + 0.5 + 1e-9), 10, 1, ".")


def cue_time(seconds: float | None, separator: str = ".") -> str:
    """A subtitle cue time, ``hh:mm:ss.mmm`` (``separator=","`` for SRT); a negative time is 0."""
    if seconds is None:
        raise ValueError("a cue needs a time (got None)")
    return _clock(int(round(max(0.0, seconds) * 1000)), 1000, 2, separator)


TENTHS_BELOW = 0.25  # seconds of uncertainty under which a tenth of a second is worth showing
PLUS_MINUS_FROM = 1.0  # seconds of uncertainty from which "±N s" is written


def clock_time(seconds: float | None, uncertainty: float | None = None) -> str:
    """The UI's one time format: ``h:mm:ss``; ``h:mm:ss.s`` when ``uncertainty`` is given and under
    ``TENTHS_BELOW`` seconds (the tenth means something); `` ±N s`` appended when it is
    ``PLUS_MINUS_FROM`` seconds or more (N rounded half up). Seconds are the tenths-rounded time cut
    to whole seconds (what a player's clock shows), so ``59.96`` is ``0:01:00``. ``-`` for unknown."""
    if seconds is None:
        return "-"
    tenths = format_time(max(0.0, seconds))
    if uncertainty is not None and 0.0 <= uncertainty < TENTHS_BELOW:
        return tenths
    whole = tenths.split(".")[0]
    if uncertainty is not None and uncertainty >= PLUS_MINUS_FROM:
        return f"{whole} ±{int(uncertainty + 0.5)} s"
    return whole


def clock_span(start: float, end: float, start_uncertainty: float | None = None,
               end_uncertainty: float | None = None) -> str:
    """``start–end`` in ``clock_time`` (``0:01:28–0:01:35``; ``0:04:02 ±1 s–0:04:10``)."""
    return f"{clock_time(start, start_uncertainty)}–{clock_time(end, end_uncertainty)}"
