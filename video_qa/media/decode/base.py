"""What every decoder does (``Decoder``), what a decode call reports besides its frames
(``DecodeReport``), and the one step that turns stored frames upright."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from video_qa.media.window import Window

Size = tuple[int, int]  # (width, height) of the frames as stored (before the display rotation)


@dataclass
class DecodeReport:
    """One decode call's account: the decoders that took part, in order, and their notes."""

    readers: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def reader(self) -> str:
        """``pyav``, ``decord``, or ``decord,pyav`` where PyAV took over part-way."""
        return ",".join(self.readers) or "pyav"


class Decoder(Protocol):
    """Decodes chosen frames of one file; it keeps its open files and its place between calls,
    so reading consecutive clips never decodes a frame twice."""

    @property
    def skipped(self) -> int:
        """Packets left out of the decoder so far (no frame needs them and none was asked)."""
        ...

    def decode(self, wanted: list[int], window: Window, size: Size, report: DecodeReport) -> Iterator[tuple[int, np.ndarray]]:
        """``(ticks, image)`` for the frames with the presentation ticks ``wanted`` (sorted,
        unique, all in ``window``), in ascending order as each is decoded: uint8 RGB at ``size``,
        in stored orientation. Frames that cannot be decoded are not yielded; the decoder adds its
        name to ``report.readers`` when it takes part and says what it lost in ``report.notes``."""
        ...

    def close(self) -> None: ...


def upright(image: np.ndarray, rotation: int) -> np.ndarray:
    """Rotate counter-clockwise by ``rotation`` degrees (display-matrix convention)."""
    k = (rotation // 90) % 4
    return np.ascontiguousarray(np.rot90(image, k)) if k else image
