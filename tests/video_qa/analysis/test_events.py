"""A clip's events: the model's clip-relative times made absolute, by value."""

from __future__ import annotations

import numpy as np

from model.vlm import ClipAnalysis, Event
from video_qa.analysis.events import see
from video_qa.analyzers import Backends
from video_qa.media import ClipFrames
from video_qa.media.plan import ClipPlan
from video_qa.pipeline.clock import Clock


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
    # the model sees time in patches of two frames: at 2 fps, a second either way
    assert [(e.meta["start_uncertainty"], e.meta["end_uncertainty"]) for e in result.events] == [(1.0, 1.0)]
    assert result.caption == "a crane"
