"""A clip's ``see`` part: its frames -> the vision-language model -> caption and ``event`` moments.

The model's times are seconds from the first frame it was shown; events are made absolute by
adding that frame's presentation time, and known to within two frames (the model sees time in
patches of two frames).
"""

from __future__ import annotations

from dataclasses import dataclass

from video_qa.analysis.embed import embed_moments
from video_qa.analysis.timing import StageClock
from video_qa.analyzers import Backends
from video_qa.media import ClipFrames
from video_qa.media.plan import ClipPlan
from video_qa.moments.values import NewMoment


@dataclass
class SeeResult:
    caption: str
    events: list[NewMoment]
    model: str
    test_model: bool
    notes: list[str]


def see(frames: ClipFrames, clip: ClipPlan, backends: Backends, clock: StageClock) -> SeeResult:
    """The clip's caption and events (absolute times, embedded); ``backends.vlm`` must be set
    (the runner checks)."""
    vlm = backends.vlm
    if not frames.frames:
        return SeeResult("", [], vlm.name, vlm.is_test_model, frames.notes + ["no decodable frame: nothing to see"])
    with clock("see"):
        analysis = vlm.describe_clip(frames.images, frames.times, clip.fps)
    origin = frames.times[0]  # the model's times are relative to the first frame it was shown
    unc = round(2.0 / clip.fps, 3)  # the model sees time in patches of two frames
    events = [NewMoment(origin + e.start, origin + e.end, e.text,
                        {"model": analysis.model, "start_uncertainty": unc, "end_uncertainty": unc})
              for e in analysis.events]
    with clock("embed"):
        embed_moments(events, backends.embedder)
    return SeeResult(analysis.caption, events, analysis.model, vlm.is_test_model, frames.notes + analysis.notes)
