"""A clip's on-screen text, read from its sampled frames as they are decoded.

Each sample is decoded, compared with what was last read (``gate``), read where it changed, and
let go: only its readings and a 160x90 copy for scene cuts (``video_qa.analysis.scenes``) stay,
so memory is one frame whatever the clip's length.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from model.protocols import ScreenTextReader
from video_qa.analysis.scenes import cut_thumb, scene_cuts
from video_qa.analysis.screen_text.gate import read_samples
from video_qa.analysis.screen_text.tracks import clip_text_moments
from video_qa.analysis.timing import StageClock
from video_qa.config import Settings
from video_qa.media import FrameReader, MediaError, Sample
from video_qa.media.plan import ClipPlan, sampling_plan
from video_qa.media.probe import Probe
from video_qa.moments.values import NewMoment

log = logging.getLogger(__name__)

GATE = True  # change-gated reading of on-screen text (docs/moments.md)


@dataclass
class TextScan:
    """One clip's on-screen text, read from its samples as they are decoded."""

    text: list[NewMoment]
    reading: dict[str, int]  # the change gate's counts: samples, read, partial, skipped
    cuts: list[list[float]]  # [[time, uncertainty]] of scene cuts between the samples
    notes: list[str]  # what the frame reader reported


def scan_text(samples: Iterable[Sample], clip: ClipPlan, settings: Settings, ocr: ScreenTextReader,
              clock: StageClock, gate: bool = GATE, lead: Sample | None = None) -> TextScan:
    """Read a clip's sampled frames (``media.Sample``s, in time order) one at a time: each is
    decoded, compared with what was last read (change gating), read where it changed, and let go;
    only the readings and a 160x90 copy for scene cuts stay. ``lead``, a frame shortly before the
    clip (not read), lets a cut between it and the clip's first sample be found. Seconds spent
    waiting for frames go to ``decode``, the rest to ``read``."""
    times: list[float] = []
    thumbs: list[np.ndarray] = []
    size: list[tuple[int, int]] = []
    decode = 0.0

    def frames() -> Iterator[np.ndarray]:
        nonlocal decode
        it = iter(samples)
        while True:
            began = time.perf_counter()
            try:
                sample = next(it)
            except StopIteration:
                decode += time.perf_counter() - began
                return
            decode += time.perf_counter() - began
            times.append(sample.time)
            thumbs.append(cut_thumb(sample.image))
            if not size:
                size.append((sample.image.shape[1], sample.image.shape[0]))
            yield sample.image

    began = time.perf_counter()
    readings, stats = read_samples(ocr.read_frame, frames(), gate=gate)
    clock.add("decode", decode)
    clock.add("read", time.perf_counter() - began - decode)
    if not times:
        return TextScan([], {}, [], [])
    moments = clip_text_moments(readings, times, clip.start, clip.end, clip.index, 1.0 / settings.ocr_fps,
                                size[0], settings.ocr_min_score)
    with clock("decode"):
        if lead is not None and lead.time < times[0]:
            cuts = scene_cuts([cut_thumb(lead.image), *thumbs], [lead.time, *times])
        else:
            cuts = scene_cuts(thumbs, times)
    return TextScan(moments, stats.as_dict(), cuts, [])


def lead_sample(reader: FrameReader, probe: Probe, clip: ClipPlan, settings: Settings) -> Sample | None:
    """The frame one sampling interval before the clip (where the previous clip's last sample
    lies), for the cut at the clip boundary; None for the first clip or where none decodes."""
    interval = 1.0 / settings.ocr_fps
    if clip.start <= 0:
        return None
    at = max(0.0, clip.start - interval)
    try:
        return next(iter(reader.stream(sampling_plan(at, clip.start, 1.0 / (clip.start - at), probe,
                                                     index=clip.index))), None)
    except MediaError as e:  # the clip's own frames decide whether the part fails
        log.info("clip %d: no frame before it to find a cut at its start: %s", clip.index, e)
        return None


def read_clip_text(path: str, probe: Probe, clip: ClipPlan, settings: Settings, ocr: ScreenTextReader,
                   clock: StageClock, tap: Callable[[Iterable[Sample]], Iterable[Sample]] | None = None) -> TextScan:
    """The clip's samples at ``VIDEOQA_OCR_FPS`` (``clip.start + j / fps``), decoded by the
    configured frame reader and scanned as they come, with the frame one interval before the clip
    for a cut at its start (each part sees only its own clip); the reader's notes are kept.
    ``tap`` wraps the samples on their way to the reader (the visual moments' collector)."""
    sampling = sampling_plan(clip.start, clip.end, settings.ocr_fps, probe, index=clip.index)
    with FrameReader(path, probe=probe, prefer=settings.frame_reader) as reader:
        with clock("decode"):
            lead = lead_sample(reader, probe, clip, settings)
        stream = reader.stream(sampling)
        scan = scan_text(stream if tap is None else tap(stream), clip, settings, ocr, clock, lead=lead)
    scan.notes = scan.notes + list(stream.notes)
    return scan
