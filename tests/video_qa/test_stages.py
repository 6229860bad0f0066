"""What the pipeline's parts compute: model times made absolute by value, chapters, summaries."""

from __future__ import annotations

import numpy as np
import pytest

from model.vlm import ClipAnalysis, Event
from video_qa.analyzers import Backends
from video_qa.media.frames import ClipFrames
from video_qa.media.plan import ClipPlan
from video_qa.stages import Clock, ClipText, chapters_from, extractive_summary, see


class FixedModel:
    name, is_test_model = "fixed", False

    def describe_clip(self, frames, times, fps):  # type: ignore[no-untyped-def]
        assert fps == 2.0 and times[0] == 30.5
        return ClipAnalysis("a crane", [Event(1.0, 2.5, "the crane turns")], raw="", model=self.name)


def test_event_times_are_the_first_frames_time_plus_the_models_seconds() -> None:
    frame = np.zeros((56, 56, 3), np.uint8)
    frames = ClipFrames(frames=[frame] * 4, times=[30.5, 31.0, 31.5, 32.0], asked=[30.5, 31.0, 31.5, 32.0], reader="pyav")
    # the first decoded frame is at 30.5, not at the clip's start
    plan = ClipPlan(index=1, start=30.0, end=32.5, fps=2.0, frames=4, width=56, height=56, tokens=8, budget=8,
                    activity=1.0, why="")
    result = see(frames, plan, Backends(FixedModel(), None, None, None), Clock())
    assert [(e.start, e.end, e.text) for e in result.events] == [(31.5, 33.0, "the crane turns")]
    assert result.caption == "a crane"


def test_chapters_follow_what_each_clip_says_and_extend_over_silence() -> None:
    clips = [ClipText(0.0, 60.0, None, ["Welcome to the harbour tour."], []),
             ClipText(60.0, 120.0, None, [], []),
             ClipText(120.0, 180.0, None, [], ["GATE 4", "GATE 4"]),
             ClipText(180.0, 240.0, "Cranes unload a ship.", ["ignored when captioned"], [])]
    chapters = chapters_from(clips)
    assert [(c.start, c.end, c.text) for c in chapters] == [
        (0.0, 120.0, "Welcome to the harbour tour."), (120.0, 180.0, "On screen: GATE 4"),
        (180.0, 240.0, "Cranes unload a ship.")]
    summary = extractive_summary(clips)
    assert summary.startswith("Extracted from the transcript and on-screen text") and "Welcome to the harbour tour." in summary
    assert extractive_summary([ClipText(0.0, 5.0, None, [], [])]).endswith("no on-screen text was read.")


def test_clock_adds_up_per_stage() -> None:
    clock = Clock()
    clock.add("decode", 0.25)
    clock.add("decode", 0.5)
    with clock("store"):
        pass
    assert clock.seconds["decode"] == pytest.approx(0.75) and set(clock.rounded()) == {"decode", "store"}
