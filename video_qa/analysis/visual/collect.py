"""A clip's samples as the visual work needs them, handed over as they are decoded.

``ShotFrames.add(time, image)`` keeps, per sample, its time, a 160x90 copy for cuts and picture
changes (``video_qa.analysis.scenes``) and a copy whose shorter side is ``KEYFRAME_SIDE`` pixels
(what the image models look at; they resize to 224 pixels); the decoded frame itself is let go.
Once the clip's samples are in, ``keyframes`` keeps one small copy per shot and drops the rest.
``decode_samples`` decodes a clip's samples at ``VIDEOQA_OCR_FPS`` for a part that reads no text
(the ``look`` part, or ``hear_read`` with on-screen text off).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from video_qa.analysis.scenes import cut_thumb, frame_deltas, scene_cuts
from video_qa.analysis.visual.shots import Shot, clip_shots
from video_qa.config import Settings
from video_qa.media import FrameReader, Sample
from video_qa.media.plan import ClipPlan, sampling_plan
from video_qa.media.probe import Probe

KEYFRAME_SIDE = 256  # shorter side of the copies kept


def small_copy(image: np.ndarray, side: int = KEYFRAME_SIDE) -> np.ndarray:
    """``image`` scaled (area averaging) so its shorter side is at most ``side`` pixels."""
    import cv2  # opencv ships with rapidocr

    height, width = image.shape[:2]
    factor = min(1.0, side / min(height, width))
    if factor == 1.0:
        return np.ascontiguousarray(image[:, :, :3]).copy()
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    return cv2.resize(np.ascontiguousarray(image[:, :, :3]), size, interpolation=cv2.INTER_AREA)


@dataclass
class ShotFrames:
    """One clip's samples for its visual moments (see module doc)."""

    times: list[float] = field(default_factory=list)
    thumbs: list[np.ndarray] = field(default_factory=list)
    copies: list[np.ndarray | None] = field(default_factory=list)

    def add(self, sample: Sample) -> None:
        self.times.append(float(sample.time))
        self.thumbs.append(cut_thumb(sample.image))
        self.copies.append(small_copy(sample.image))

    def tap(self, samples: Iterable[Sample]) -> Iterator[Sample]:
        """``samples`` unchanged, each added here on its way through."""
        for sample in samples:
            self.add(sample)
            yield sample

    def cuts(self, clip: ClipPlan) -> list[list[float]]:
        """[[time, uncertainty]] of the scene cuts between these samples of ``clip`` (at the later
        sample: ``scenes.scene_cuts``; ``cut_frames.exact_cuts`` puts them on their frames)."""
        return scene_cuts(self.thumbs, self.times)

    def shots(self, clip: ClipPlan, max_shot: float, cuts: Sequence[Sequence[float]] | None = None) -> list[Shot]:
        """The clip's shots: at ``cuts`` when given (the frame scan's, which may include a cut at
        the clip's first sample), else at the cuts between these samples."""
        found = self.cuts(clip) if cuts is None else [list(c) for c in cuts]
        return clip_shots(self.times, frame_deltas(self.thumbs), found, clip.start, clip.end, max_shot)

    def keyframes(self, shots: Sequence[Shot]) -> list[np.ndarray]:
        """Each shot's keyframe (a small copy); every other copy is let go."""
        keep = [shot.keyframe(self.times) for shot in shots]
        frames = [self.copies[i] for i in keep]
        self.copies = [None] * len(self.copies)
        self.thumbs = []
        return [f for f in frames if f is not None]


def decode_samples(path: str, probe: Probe, clip: ClipPlan, settings: Settings, frames: ShotFrames) -> list[str]:
    """Decode the clip's samples at ``VIDEOQA_OCR_FPS`` into ``frames``; the reader's notes."""
    sampling = sampling_plan(clip.start, clip.end, settings.ocr_fps, probe, index=clip.index)
    with FrameReader(path, probe=probe, prefer=settings.frame_reader) as reader:
        stream = reader.stream(sampling)
        for sample in stream:
            frames.add(sample)
    return list(stream.notes)
