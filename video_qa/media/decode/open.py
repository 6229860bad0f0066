"""The decoder a reader uses, chosen by name (``VIDEOQA_FRAME_READER`` by default), and the one
place where PyAV takes over from decord."""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from video_qa.config import get_settings
from video_qa.media.decode.base import Decoder, DecodeReport, Size
from video_qa.media.decode.decord import DecordDecoder
from video_qa.media.decode.pyav import PyAVDecoder
from video_qa.media.probe import Probe
from video_qa.media.window import Window

READERS = ("decord", "pyav")


def reader_name(prefer: str | None) -> str:
    """``prefer``, or the ``VIDEOQA_FRAME_READER`` setting; ValueError for an unknown name."""
    prefer = prefer or get_settings().frame_reader
    if prefer not in READERS:
        raise ValueError(f"prefer must be one of {READERS}")
    return prefer


class DecordThenPyAV:
    """decord where it reads the file exactly, PyAV for the rest: a window with corrupt packets,
    a file decord does not read, and the frames of a clip decord had not returned when it failed."""

    def __init__(self, decord: DecordDecoder, pyav: PyAVDecoder) -> None:
        self.decord = decord
        self.pyav = pyav

    @property
    def skipped(self) -> int:
        return self.pyav.skipped

    def close(self) -> None:
        self.decord.close()
        self.pyav.close()

    def decode(self, wanted: list[int], window: Window, size: Size, report: DecodeReport) -> Iterator[tuple[int, np.ndarray]]:
        """The ``Decoder`` call; a note says why decord did not read (all of) the clip."""
        last: int | None = None
        if not window.corrupt:
            for ticks, image in self.decord.decode(wanted, window, size, report):
                last = ticks
                yield ticks, image
            if self.decord.failed:
                report.notes.append(f"decord: {self.decord.failed}")
        # decord returns every wanted frame unless it failed: what is left is PyAV's
        rest = wanted if last is None else wanted[bisect.bisect_right(wanted, last):]
        if rest:
            yield from self.pyav.decode(rest, window, size, report)


def open_decoder(prefer: str | None, path: Path, probe: Probe, skip_nonref: bool = True) -> Decoder:
    """The decoder ``reader_name(prefer)`` for one file. ``skip_nonref``: PyAV leaves unsampled
    H.264 non-reference frames undecoded."""
    pyav = PyAVDecoder(path, skip_nonref=skip_nonref)
    if reader_name(prefer) == "pyav":
        return pyav
    return DecordThenPyAV(DecordDecoder(path, probe), pyav)
