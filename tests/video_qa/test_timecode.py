"""The one time formatter, by value: labels for people (``format_time``) and subtitle cue times
(``cue_time``), including the carries where rounding reaches the next minute or hour."""

import pytest

from video_qa.timecode import cue_time, format_time


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0:00:00.0"), (0.04, "0:00:00.0"), (0.05, "0:00:00.1"), (59.95, "0:01:00.0"), (59.96, "0:01:00.0"),
     (3599.94, "0:59:59.9"), (3599.95, "1:00:00.0"), (3599.96, "1:00:00.0"), (3600.0, "1:00:00.0"),
     (3723.45, "1:02:03.5"), (36000.0, "10:00:00.0"), (360000.04, "100:00:00.0"), (None, "-")],
)
def test_format_time(seconds, text) -> None:  # type: ignore[no-untyped-def]
    assert format_time(seconds) == text


def test_negative_rejected() -> None:
    with pytest.raises(ValueError):
        format_time(-0.1)


@pytest.mark.parametrize(
    ("seconds", "vtt", "srt"),
    [(0, "00:00:00.000", "00:00:00,000"),
     (0.0006, "00:00:00.001", "00:00:00,001"),
     (0.0625, "00:00:00.062", "00:00:00,062"),  # an exact half millisecond goes to the even one
     (59.95, "00:00:59.950", "00:00:59,950"),
     (59.9999, "00:01:00.000", "00:01:00,000"),
     (3599.96, "00:59:59.960", "00:59:59,960"),
     (3599.9996, "01:00:00.000", "01:00:00,000"),
     (3723.4567, "01:02:03.457", "01:02:03,457"),
     (360000.0, "100:00:00.000", "100:00:00,000"),
     (-0.2, "00:00:00.000", "00:00:00,000")],  # nothing before the start
)
def test_cue_time(seconds: float, vtt: str, srt: str) -> None:
    assert cue_time(seconds) == vtt
    assert cue_time(seconds, ",") == srt


def test_cue_time_needs_a_time() -> None:
    with pytest.raises(ValueError, match="None"):
        cue_time(None)


NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("span", "text"),
    [
        # the two labels of issue 29: one end known only to 2 s: both ends in whole seconds, with ±
        ((0.0, 30.0, 0.1, 2.0), f"0:00:00–0:00:30{NBSP}±2{NBSP}s"),
        # under 1 s of uncertainty: tenths, as the answer text writes the times (issue 28's new user)
        ((199.0, 240.0, 0.5, 0.1), "0:03:19.0–0:04:00.0"),
        ((10.0, 12.0, 0.1, 0.2), "0:00:10.0–0:00:12.0"),
        # the less precise end decides, and the ± follows the range once
        ((242.0, 250.0, 1.0, 3.0), f"0:04:02–0:04:10{NBSP}±3{NBSP}s"),
        ((242.0, 250.0, 1.2, 0.0), f"0:04:02–0:04:10{NBSP}±1{NBSP}s"),
        ((242.0, 250.0, None, 1.4), f"0:04:02–0:04:10{NBSP}±1{NBSP}s"),
        # an uncertainty not given: tenths (a hit 29.68-33.80 s, a 0.18-s speech moment not "0:00:30–0:00:30")
        ((29.68, 33.80, None, None), "0:00:29.7–0:00:33.8"),
        ((30.02, 30.20, None, None), "0:00:30.0–0:00:30.2"),
        ((10.0, 12.0, None, 0.1), "0:00:10.0–0:00:12.0"),
        ((59.96, 61.0, 0.5, 0.5), "0:01:00.0–0:01:01.0"),  # the carry, in tenths
        ((59.96, 61.0, 1.5, 0.5), f"0:01:00–0:01:01{NBSP}±2{NBSP}s"),  # the carry, in whole seconds
    ],
)
def test_a_span_has_one_precision_and_one_plus_minus(span: tuple, text: str) -> None:  # type: ignore[type-arg]
    from video_qa.timecode import clock_span

    assert clock_span(*span) == text


def test_plus_minus_never_wraps_apart_from_its_time() -> None:
    """A line break may not fall inside ``±N s`` nor between a time and its ``±``: no-break spaces."""
    from video_qa.timecode import clock_span, clock_time

    assert clock_time(5, 1.5) == f"0:00:05{NBSP}±2{NBSP}s"
    assert clock_time(5, 0.1) == "0:00:05.0" and clock_time(5, 0.5) == "0:00:05.0" and clock_time(5) == "0:00:05"
    for label in (clock_time(5, 1.5), clock_span(1, 2, 3, 3)):
        assert " " not in label  # no breakable space anywhere
