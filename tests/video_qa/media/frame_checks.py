"""Checks shared by the frame-reading tests: the readers to run them on, and exactness by value."""

from __future__ import annotations

from fractions import Fraction
from importlib.util import find_spec

import pytest

from tests.factories.media import frame_index
from video_qa.media import ClipFrames

NO_DECORD = pytest.mark.skipif(find_spec("decord") is None, reason="decord is not installed")
# ``parametrize("reader", READERS)``: every reader, decord's cases skipped where it is not installed
READERS = [pytest.param("decord", marks=NO_DECORD), "pyav"]


def expected_index(t: float, rate: Fraction, last: int) -> int:
    """Nearest frame to ``t`` for a constant-rate video (ties to the earlier frame)."""
    exact = Fraction(t).limit_denominator(10**6) * rate
    lower = int(exact)
    n = lower if exact - lower <= Fraction(1, 2) else lower + 1
    return min(n, last)


def assert_exact(result: ClipFrames, rate: Fraction, last: int) -> None:
    assert result.missing == []
    assert len(result.frames) == len(result.asked) > 0
    half_frame = float(1 / rate) / 2
    for image, t, asked in zip(result.frames, result.times, result.asked):
        n = expected_index(asked, rate, last)
        assert frame_index(image) == n, f"asked {asked:.4f} s"
        assert t == pytest.approx(float(n / rate), abs=1e-9)
        if n < last:
            assert abs(t - asked) <= half_frame + 1e-9
