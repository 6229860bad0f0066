"""The PyAV decoder: forward from the keyframe before each chosen frame, converting only chosen
frames (straight to the planned size in swscale's ``reformat``).

It keeps its place between calls and seeks ahead only when the next chosen frame's keyframe lies
beyond the decoder's position, so sparse sampling skips whole GOPs and dense sampling never
re-seeks. H.264 packets that hold only non-reference pictures (``video_qa.media.nal``) and are not
chosen never reach the decoder: no other frame is predicted from them.
"""

from __future__ import annotations

import bisect
import logging
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path

import av
import numpy as np

from video_qa.media.container import open_container, seek_keyframe
from video_qa.media.decode.base import DecodeReport, Size
from video_qa.media.nal import disposable_h264, nal_length_size
from video_qa.media.window import Window

log = logging.getLogger(__name__)

NAME = "pyav"


class PyAVDecoder:
    """Decodes chosen frames of one file with its own decoding container (opened on first use)."""

    def __init__(self, path: Path, skip_nonref: bool = True) -> None:
        """``skip_nonref``: leave unsampled H.264 non-reference frames undecoded."""
        self.path = path
        self.skip_nonref = skip_nonref
        self._skipped = 0
        self._container: av.container.InputContainer | None = None
        self._front: int | None = None  # highest packet ticks fed to the decoder since its last seek
        self._last_out: int | None = None  # ticks of the last frame the decoder returned

    @property
    def skipped(self) -> int:
        """Packets left out of the decoder so far (non-reference, unsampled)."""
        return self._skipped

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
        self._container = None

    def _opened(self) -> av.container.InputContainer:
        if self._container is None:
            self._container = open_container(self.path)
            self._container.streams.video[0].thread_type = "AUTO"
        return self._container

    def _disposable(self, stream: av.video.stream.VideoStream) -> Callable[[av.Packet], bool] | None:
        """A test for packets no other frame needs, or None where we cannot tell (see ``nal``)."""
        if not self.skip_nonref or stream.codec_context.name != "h264":
            return None
        size = nal_length_size(stream.codec_context.extradata)
        if size:
            return lambda packet: disposable_h264(memoryview(packet), size)  # type: ignore[arg-type]
        return lambda packet: disposable_h264(bytes(packet), 0)

    def decode(self, wanted: list[int], window: Window, size: Size, report: DecodeReport) -> Iterator[tuple[int, np.ndarray]]:
        """The ``Decoder`` call: undecodable packets are skipped and counted in a note."""
        report.readers.append(NAME)
        container = self._opened()
        stream = container.streams.video[0]
        keys = window.keyframes
        width, height = size

        def keyframe_before(ticks: int) -> int:
            k = bisect.bisect_right(keys, ticks) - 1
            return keys[k] if k >= 0 else window.ticks[0]

        pending = deque(wanted)
        wanted_set = set(wanted)
        last_wanted = wanted[-1] if wanted else 0
        disposable = self._disposable(stream)
        errors = 0
        while pending:
            keyframe = keyframe_before(pending[0])
            behind = self._last_out is not None and pending[0] <= self._last_out
            if self._front is None or keyframe > self._front or behind:
                seek_keyframe(container, keyframe)  # skips every GOP between here and there undecoded
                self._front = self._last_out = None
            produced = False
            for packet in container.demux(stream):
                if packet.pts is not None:
                    self._front = packet.pts if self._front is None else max(self._front, packet.pts)
                    # Only inside this call's span: a packet demuxed past its last wanted frame may
                    # hold a frame the next clip asks for, and the decoder keeps its place for it.
                    if (
                        disposable is not None and packet.pts < last_wanted
                        and packet.pts not in wanted_set and disposable(packet)
                    ):
                        self._skipped += 1  # no frame is predicted from it and we do not want it
                        continue
                try:
                    decoded = packet.decode()
                except av.error.FFmpegError as error:
                    errors += 1
                    log.debug("%s: undecodable packet at %s: %s", self.path, packet.pts, error)
                    continue
                for frame in decoded:
                    if frame.pts is None:
                        continue
                    produced = True
                    self._last_out = frame.pts
                    while pending and pending[0] < frame.pts:
                        pending.popleft()  # passed without being produced: undecodable
                    if pending and pending[0] == frame.pts:
                        pending.popleft()
                        yield frame.pts, frame.reformat(width=width, height=height, format="rgb24").to_ndarray()
                if not pending:
                    break
                if self._front is not None and keyframe_before(pending[0]) > self._front:
                    break  # nothing wanted before the next keyframe: seek there
            else:
                self._front = self._last_out = None  # end of stream: what is still pending does not exist
                break
            if not produced:
                pending.popleft()  # the seek produced nothing for this frame: give it up
        if errors:
            report.notes.append(f"{errors} undecodable packet(s) skipped")
