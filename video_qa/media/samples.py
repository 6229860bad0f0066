"""What a frame reader hands out: ``Sample`` (one frame), ``ClipStream`` (a clip's samples as
they are decoded) and ``ClipFrames`` (a clip's samples as one block)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from video_qa.media.decode import DecodeReport
from video_qa.media.plan import ClipPlan


@dataclass(frozen=True)
class Sample:
    asked: float  # the asked sample time, seconds
    time: float  # presentation time of the frame that answers it, seconds
    image: np.ndarray  # uint8 RGB, height x width x 3, upright, planned size


@dataclass
class ClipFrames:
    frames: list[np.ndarray]  # uint8 RGB, height x width x 3, upright, planned size
    times: list[float]  # presentation time of each returned frame, seconds from stream start
    asked: list[float]  # asked time of each returned frame
    reader: str
    missing: list[float] = field(default_factory=list)  # asked times with no decodable frame
    notes: list[str] = field(default_factory=list)
    array: np.ndarray | None = None  # FrameReader.read: the frames as one block, ``frames`` are views of it

    @property
    def images(self) -> np.ndarray | list[np.ndarray]:
        """The frames for the vision model: the reader's block as it is (no copy), else the list
        (``model.vlm.as_block`` stacks a list)."""
        return self.array if self.array is not None else self.frames


class ClipStream:
    """One clip's samples, produced while iterated (``FrameReader.stream``): ``produce(stream)``
    makes them and fills in the stream's ``missing``, ``notes`` and ``decoding``, which are
    complete once it has been iterated."""

    def __init__(self, clip: ClipPlan, produce: Callable[[ClipStream], Iterator[Sample]]) -> None:
        self.clip = clip
        self.missing: list[float] = []  # asked times with no decodable frame
        self.notes: list[str] = []
        self.decoding = DecodeReport()  # the decoders that took part, and their notes
        self._samples = produce(self)

    @property
    def reader(self) -> str:
        """The reader that produced the frames (``decord,pyav``: decord failed part-way)."""
        return self.decoding.reader

    def __iter__(self) -> Iterator[Sample]:
        return self._samples

    def collect(self) -> ClipFrames:
        """The whole clip: one ``(n, height, width, 3)`` block allocated once (``ClipFrames.array``;
        ``frames`` are views of it)."""
        block: np.ndarray | None = None
        times: list[float] = []
        asked: list[float] = []
        for n, sample in enumerate(self):
            if block is None:
                block = np.empty((len(self.clip.sample_times), *sample.image.shape), dtype=np.uint8)
            block[n] = sample.image
            times.append(sample.time)
            asked.append(sample.asked)
        array = block[: len(times)] if block is not None else None
        return ClipFrames(
            frames=list(array) if array is not None else [], times=times, asked=asked, reader=self.reader,
            missing=self.missing, notes=self.notes, array=array,
        )
