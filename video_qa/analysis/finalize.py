"""The video's ``finalize`` part, from every clip part's results: text tracks stitched across
clip boundaries (and shots: ``visual.shots.stitch_shots``), chapters from content, and the summary
from the same clean material (changing
text and noise never reach titles or the summary). See docs/moments.md."""

from __future__ import annotations

from dataclasses import dataclass

from video_qa.analysis.chapters import content_chapters
from video_qa.analysis.embed import embed_moments
from video_qa.analysis.screen_text.tracks import stitch
from video_qa.analysis.summary import extractive_summary
from video_qa.analysis.timing import StageClock
from video_qa.analysis.visual.shots import stitch_shots
from video_qa.analyzers import Backends
from video_qa.moments.values import FinalizeInputs, NewMoment


@dataclass
class Finalized:
    text: list[NewMoment]  # the video's text moments, stitched across clip boundaries
    chapters: list[NewMoment]
    summary: str
    visual: list[NewMoment] | None = None  # visual moments stitched across clip boundaries (None: there are none)


def finalize_content(inputs: FinalizeInputs, backends: Backends, clock: StageClock) -> Finalized:
    """Stitch text tracks across clips, chapters from content, and the summary: the vision model
    summarizes the clips' captions when it ran, else it is extracted from speech and text."""
    stitched = stitch([m for m in inputs.text if not m.meta.get("changing")])  # as an older release stored them
    chapters = content_chapters(inputs.duration, stitched, inputs.speech, inputs.cuts, inputs.captions)
    with clock("embed"):
        embed_moments([m for m in stitched if m.embedding is None], backends.embedder)
        embed_moments(chapters, backends.embedder)
    said = [(start, caption) for start, _, caption in inputs.captions]
    if backends.vlm is not None and said:
        with clock("see"):
            summary = backends.vlm.summarize(said)
    else:
        summary = extractive_summary(inputs.speech, stitched)
    return Finalized(stitched, chapters, summary, stitch_shots(inputs.visual) if inputs.visual else None)
