"""A clip's on-screen text, read from its sampled frames as they are decoded.

Each sample is decoded, compared with what was last read (``gate``), read where it changed, and
let go: only its readings and a 160x90 copy for scene cuts (``video_qa.analysis.scenes``) stay,
so memory is one frame whatever the clip's length.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from model.protocols import ScreenTextReader
from video_qa.analysis.scenes import cut_thumb, scene_cuts
from video_qa.analysis.screen_text.gate import read_samples
from video_qa.analysis.screen_text.tracks import clip_text_moments
from video_qa.analysis.timing import StageClock
from video_qa.config import Settings
from video_qa.media import FrameReader, Sample
from video_qa.media.plan import ClipPlan, sampling_plan
from video_qa.media.probe import Probe
from video_qa.moments.values import NewMoment

GATE = True  # change-gated reading of on-screen text (docs/moments.md)


@dataclass
class TextScan:
    """One clip's on-screen text, read from its samples as they are decoded."""

    text: list[NewMoment]
    reading: dict[str, int]  # the change gate's counts: samples, read, partial, skipped
    cuts: list[list[float]]  # [[time, uncertainty]] of scene cuts between the samples
    notes: list[str]  # what the frame reader reported


def scan_text(samples: Iterable[Sample], clip: ClipPlan, settings: Settings, ocr: ScreenTextReader,
              clock: StageClock, gate: bool = GATE) -> TextScan:
    """Read a clip's sampled frames (``media.Sample``s, in time order) one at a time: each is
    decoded, compared with what was last read (change gating), read where it changed, and let go;
    only the readings and a 160x90 copy for scene cuts stay. Seconds spent waiting for frames go
    to ``decode``, the rest to ``read``."""
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
        cuts = scene_cuts(thumbs, times)
    return TextScan(moments, stats.as_dict(), cuts, [])


def read_clip_text(path: str, probe: Probe, clip: ClipPlan, settings: Settings, ocr: ScreenTextReader,
                   clock: StageClock) -> TextScan:
    """The clip's samples at ``VIDEOQA_OCR_FPS`` (``clip.start + j / fps``), decoded by the
    configured frame reader and scanned as they come; the reader's notes are kept."""
    sampling = sampling_plan(clip.start, clip.end, settings.ocr_fps, probe, index=clip.index)
    with FrameReader(path, probe=probe, prefer=settings.frame_reader) as reader:
        stream = reader.stream(sampling)
        scan = scan_text(stream, clip, settings, ocr, clock)
    scan.notes = scan.notes + list(stream.notes)
    return scan
