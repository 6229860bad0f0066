"""The decord decoder: the chosen frames by index, 16 at a time, where decord reads exactly.

decord's timestamps are float32, so they only map exact presentation times to its indices; a
frame whose time does not line up with decord's index stops decord for the file. decord scales in
its own filter graph (the reader is opened at the clip's planned size); it turns rotated video
upright itself, which is undone here so that every decoder hands out stored-orientation frames.
For quarter turns the size decord would scale to is ambiguous, so those frames come at their
stored size and are resized here. A file decord cannot read exactly (a codec not in
``CODECS``, an open or decode error, an index that does not line up) leaves ``failed`` set
with the reason, and decord is not tried again for it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from video_qa.media.decode.base import DecodeReport, Size, upright
from video_qa.media.probe import Probe
from video_qa.media.window import Window

if TYPE_CHECKING:
    import decord

log = logging.getLogger(__name__)

NAME = "decord"
CHUNK = 16
# Codecs whose frames decord returns exactly (proven by the exact-frame tests). decord cannot open
# AV1 at all, and with HEVC (open GOPs) it returns frames a few indices off around keyframes, so
# those, and any codec not listed, are not decord's.
CODECS = frozenset({"h264", "vp8", "vp9", "mpeg4", "mjpeg"})


def _resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    if image.shape[1] == width and image.shape[0] == height:
        return image
    from PIL import Image  # only quarter-turned video resizes here

    return np.asarray(Image.fromarray(image).resize((width, height), Image.Resampling.BILINEAR))


class DecordDecoder:
    """Decodes chosen frames of one file with one decord reader (reopened for another size)."""

    skipped = 0  # decord decodes every packet

    def __init__(self, path: Path, probe: Probe) -> None:
        self.path = path
        self.probe = probe
        self.failed: str | None = None  # why decord does not read this file, once known
        self._reader: decord.VideoReader | None = None
        self._size: Size | None = None
        self._times: np.ndarray | None = None  # every frame's decord timestamp, seconds

    def close(self) -> None:
        self._reader = None
        self._times = None

    def _give_up(self, reason: str, what: str) -> None:
        self.failed = reason
        log.info("%s: %s, using PyAV (%s)", self.path, what, reason)

    def _opened(self, size: Size | None) -> decord.VideoReader | None:
        """decord's reader for frames of ``size`` (None: as stored), or None where decord is not
        used. Scaling in decord's filter graph when it converts a frame is cheaper than converting
        at full size and resizing (and keeps full-size RGB frames out of memory)."""
        if self.failed is None and self.probe.video_codec not in CODECS:
            self.failed = f"codec {self.probe.video_codec} is not read exactly by decord"
            log.info("%s: %s, using PyAV", self.path, self.failed)
        if self.failed is not None:
            return None
        if self._reader is None or self._size != size:
            import decord

            self._reader = None  # the old reader's buffers go before the new one's are made
            scale = {"width": size[0], "height": size[1]} if size is not None else {}
            try:
                self._reader = decord.VideoReader(str(self.path), ctx=decord.cpu(0), num_threads=0, **scale)
                self._size = size
                if self._times is None:
                    self._times = self._reader.get_frame_timestamp(range(len(self._reader)))[:, 0].astype(np.float64)
            except decord.DECORDError as error:
                self._give_up(str(error).splitlines()[0][-200:], "decord cannot read this file")
                return None
        return self._reader

    def _indices(self, wanted: list[int], times: np.ndarray) -> list[int] | None:
        """decord's index (in ``times``, its timestamps) of each wanted frame, or None where one
        does not line up."""
        spacing = 1.0 / max(self.probe.avg_fps or self.probe.nominal_fps or 30.0, 1.0)
        indices = []
        for ticks in wanted:
            t = self.probe.seconds(ticks)
            i = int(np.clip(np.searchsorted(times, t), 0, len(times) - 1))
            best = min((j for j in (i - 1, i, i + 1) if 0 <= j < len(times)), key=lambda j: abs(times[j] - t))
            if abs(times[best] - t) > 0.3 * spacing + 0.005:  # float32 times: ~4 ms at 10 h
                self.failed = f"decord's index does not line up at {t:.3f} s"
                log.info("%s: %s, using PyAV", self.path, self.failed)
                return None
            indices.append(best)
        return indices

    def decode(self, wanted: list[int], window: Window, size: Size, report: DecodeReport) -> Iterator[tuple[int, np.ndarray]]:
        """The ``Decoder`` call. Nothing is yielded where decord does not read the file, and it
        stops early where decord fails part-way; ``failed`` says why in both cases."""
        rotation = self.probe.rotation
        reader = self._opened(None if rotation in (90, 270) else size)
        if reader is None or self._times is None:
            return
        indices = self._indices(wanted, self._times)
        if indices is None:
            return
        import decord

        for at in range(0, len(indices), CHUNK):  # bounded: 16 frames at a time
            try:
                batch = reader.get_batch(indices[at : at + CHUNK]).asnumpy()
            except decord.DECORDError as error:
                self._give_up(str(error).splitlines()[0][-200:], "decord failed to decode")
                return
            if at == 0:
                report.readers.append(NAME)
            for ticks, image in zip(wanted[at : at + CHUNK], batch):
                yield ticks, _resize(upright(image, -rotation), *size)
            del batch
