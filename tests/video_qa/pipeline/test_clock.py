"""Seconds per stage of a part."""

from __future__ import annotations

import pytest

from video_qa.pipeline.clock import Clock


def test_clock_adds_up_per_stage() -> None:
    clock = Clock()
    clock.add("decode", 0.25)
    clock.add("decode", 0.5)
    with clock("store"):
        pass
    assert clock.seconds["decode"] == pytest.approx(0.75) and set(clock.rounded()) == {"decode", "store"}
