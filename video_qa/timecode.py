"""Times written for people and players, the one place that does it.

- ``format_time``: ``h:mm:ss.s`` (UI, API, CLI, prompts), tenths rounded half up; ``-`` for unknown.
- ``cue_time``: ``hh:mm:ss.mmm`` (WebVTT) or ``hh:mm:ss,mmm`` (SRT) cue times, rounded to the nearest
  millisecond (Python's ``round``: an exact half goes to the even millisecond); negative is 0.
- ``clock_time`` / ``clock_span``: the one format people see in the web app and the CLI. A moment
  (``clock_span``) is ``start–end`` in tenths, as ``format_time`` writes them (``0:00:29.7–0:00:33.8``,
  the times an answer quotes), unless its uncertainty is 1 s or more: then both ends in whole seconds
  and ``±N s`` once after the range (``0:04:02–0:04:10 ±3 s``). A single time (``clock_time``) with
  no uncertainty is a clock or a duration, ``h:mm:ss`` (``format_time`` cut to whole seconds); with
  one, the same rule as a moment's end. The spaces around ``±N s`` are no-break spaces (U+00A0), so
  a narrow screen never wraps the label there.

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


PLUS_MINUS_FROM = 1.0  # seconds of uncertainty from which "±N s" is written (and whole seconds, not tenths)
NBSP = "\u00a0"  # between a time and its "±", and between "±N" and "s": the label never wraps there


def _tenths(uncertainty: float | None) -> bool:
    """A time is written to the tenth unless it is known only to ``PLUS_MINUS_FROM`` s or worse."""
    return uncertainty is None or uncertainty < PLUS_MINUS_FROM


def _whole_or_tenths(seconds: float, tenths: bool) -> str:
    """``h:mm:ss.s`` or, cut to whole seconds, ``h:mm:ss`` (what a player's clock shows)."""
    text = format_time(max(0.0, seconds))
    return text if tenths else text.split(".")[0]


def _plus_minus(uncertainty: float | None) -> str:
    if uncertainty is None or uncertainty < PLUS_MINUS_FROM:
        return ""
    return f"{NBSP}±{int(uncertainty + 0.5)}{NBSP}s"


def clock_time(seconds: float | None, uncertainty: float | None = None) -> str:
    """One time. No ``uncertainty``: a clock or a duration, ``h:mm:ss`` (the tenths-rounded time cut
    to whole seconds, what a player's clock shows, so ``59.96`` is ``0:01:00``). With one: ``h:mm:ss.s``
    when it is under ``PLUS_MINUS_FROM`` seconds, else ``h:mm:ss ±N s`` (N rounded half up). ``-`` for
    unknown."""
    if seconds is None:
        return "-"
    return _whole_or_tenths(seconds, uncertainty is not None and _tenths(uncertainty)) + _plus_minus(uncertainty)


def clock_span(start: float, end: float, start_uncertainty: float | None = None,
               end_uncertainty: float | None = None) -> str:
    """A moment: ``start–end`` in tenths (an uncertainty not given counts as small:
    ``0:00:29.7–0:00:33.8``, the times an answer quotes, and a 0.2-s moment is not ``0:00:30–0:00:30``),
    both ends in one precision: when the larger uncertainty is ``PLUS_MINUS_FROM`` or more, both in
    whole seconds and ``±N s`` once after the range (``0:04:02–0:04:10 ±3 s``)."""
    known = [u for u in (start_uncertainty, end_uncertainty) if u is not None]
    larger = max(known) if known else None
    tenths = _tenths(larger)
    return f"{_whole_or_tenths(start, tenths)}–{_whole_or_tenths(end, tenths)}" + _plus_minus(larger)
