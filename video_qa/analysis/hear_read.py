"""A clip's ``hear_read`` part: its speech, on-screen text, scene cuts, embeddings and, when it
looks too, its visual moments (from the same decoded samples: ``analysis.visual``).

Speech runs in a side thread beside the text (its audio read by its own ffmpeg), the embedder
loads beside both on first use, and the text is read from frames as they are decoded
(``screen_text.scan``), so one part keeps two cores busy and holds one frame at a time. The
caller gives the threads (``video_qa.pipeline.background.side_pool``).
"""

from __future__ import annotations

from concurrent.futures import Executor, Future
from dataclasses import dataclass, field

from video_qa.analysis.cut_frames import exact_cuts
from video_qa.analysis.embed import embed_moments
from video_qa.analysis.screen_text.scan import read_clip_text
from video_qa.analysis.speech import hear
from video_qa.analysis.timing import StageClock
from video_qa.analysis.visual.collect import ShotFrames, decode_samples
from video_qa.analysis.visual.look import look
from video_qa.analyzers import Backends, warm_embedder
from video_qa.config import Settings
from video_qa.media.plan import ClipPlan
from video_qa.media.probe import Probe
from video_qa.moments.values import NewMoment


@dataclass
class HearReadResult:
    speech: list[NewMoment] = field(default_factory=list)
    text: list[NewMoment] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cuts: list[list[float]] = field(default_factory=list)  # [[time, uncertainty]] of scene cuts
    reading: dict[str, int] = field(default_factory=dict)  # change gating: samples, read, partial, skipped
    visual: list[NewMoment] | None = None  # None: the part did not look


def hear_read(path: str, probe: Probe, clip: ClipPlan, settings: Settings, backends: Backends,
              clock: StageClock, side: Executor, with_look: bool = False) -> HearReadResult:
    """A clip's speech, on-screen text and embeddings; speech and the embedder's first load run on
    ``side`` while this thread reads the text. Changing text (counters, clocks) is kept but not
    embedded. ``with_look``: the visual moments too, from the samples the text scan decodes (with
    on-screen text off, the samples are decoded for them alone)."""
    result = HearReadResult()
    frames = ShotFrames() if with_look else None
    warm = side.submit(warm_embedder, backends.embedder, settings.analyzer_threads) if backends.embedder is not None else None
    heard: Future[list[NewMoment]] | None = None
    if backends.speech is not None and probe.has_audio:
        heard = side.submit(hear, path, probe, clip, backends.speech, clock)
    try:
        if backends.ocr is not None:
            scan = read_clip_text(path, probe, clip, settings, backends.ocr, clock,
                                  tap=None if frames is None else frames.tap)
            result.text, result.reading, result.cuts = scan.text, scan.reading, scan.cuts
            result.notes += scan.notes
        elif frames is not None:
            with clock("decode"):
                result.notes += decode_samples(path, probe, clip, settings, frames)
                result.cuts = frames.cuts(clip)
        if result.cuts and settings.exact_cuts:
            with clock("decode"):
                result.cuts = exact_cuts(path, probe, clip, result.cuts, settings.frame_reader)
        if frames is not None:
            result.visual = look(frames, clip, backends, clock, 1.0 / settings.ocr_fps, settings.visual_max_shot,
                                 result.cuts)
    finally:
        if heard is not None:
            result.speech = heard.result()  # its error, if any, surfaces here, in the task
        if warm is not None:
            warm.result()
    with clock("embed"):
        embed_moments(result.speech + result.text, backends.embedder)
    return result
