"""A clip's window on the stream's time axis: which frames exist around the clip and when, which
frame answers each asked time, and where the clip has no frames at all.

The window index is a demux-only pass (no decoding): seek to the keyframe before the clip and
list every video packet's presentation ticks up to just past the clip end. Sorted, these are the
exact times of the frames in the window, and the keyframes among them. Every asked time then
takes the frame whose presentation time is nearest (ties to the earlier frame), so
variable-frame-rate video is sampled by time, not by ``index / fps``.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np

from video_qa.media.container import open_container, seek_keyframe
from video_qa.media.errors import MediaError
from video_qa.media.probe import Probe

INDEX_MARGIN_S = 1.0
GAP_MIN_S = 1.0
GAP_MIN_FRAMES = 10


@dataclass
class Window:
    ticks: list[int]  # sorted presentation ticks of every frame in the window
    keyframes: list[int]  # sorted ticks of the keyframes in the window
    corrupt: bool
    times: list[float] = field(default_factory=list)  # ``ticks`` in seconds (Probe.seconds), computed once


class WindowIndex:
    """Window indexes of one file, read from its own demux-only container (opened on first use)."""

    def __init__(self, path: Path, probe: Probe) -> None:
        self.path = path
        self.probe = probe
        self._container: av.container.InputContainer | None = None

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
        self._container = None

    def window(self, start: float, end: float) -> Window:
        """Exact presentation ticks of every frame from the keyframe before ``start`` to past ``end``."""
        p = self.probe
        if self._container is None:
            self._container = open_container(self.path)
        container = self._container
        stream = container.streams.video[0]
        lo = p.start_pts + int((max(0.0, start - INDEX_MARGIN_S)) / p.time_base)
        hi = p.start_pts + int((end + INDEX_MARGIN_S) / p.time_base)
        try:
            seek_keyframe(container, lo)
        except av.error.FFmpegError as error:
            raise MediaError(self.path, f"cannot seek to {start:.3f} s: {error}") from error
        ticks: list[int] = []
        keys: list[int] = []
        corrupt = False
        past = 0
        for packet in container.demux(stream):
            if packet.pts is None:
                if packet.size:
                    corrupt = True
                continue
            ticks.append(packet.pts)
            if packet.is_keyframe:
                keys.append(packet.pts)
            if packet.is_corrupt:
                corrupt = True
            if packet.pts > hi:
                past += 1
                if past > 16:  # well past the end, beyond any B-frame reordering
                    break
        ticks.sort()
        keys.sort()
        return Window(ticks=ticks, keyframes=keys, corrupt=corrupt, times=[p.seconds(t) for t in ticks])


def select_ticks(asked: list[float], window: list[int], times: list[float]) -> list[int | None]:
    """For each asked time the nearest frame's ticks (ties to the earlier); None where no frame.
    ``times``: the window's ticks in seconds."""
    if not window:
        return [None] * len(asked)
    chosen: list[int | None] = []
    for t in asked:
        i = bisect.bisect_left(times, t)
        candidates = [j for j in (i - 1, i) if 0 <= j < len(times)]
        best = min(candidates, key=lambda j: (abs(times[j] - t), times[j]))
        chosen.append(window[best])
    return chosen


def gap_notes(window_times: list[float], start: float, end: float) -> list[str]:
    """Notes for stretches of the clip with no frame at all: damaged data the demuxer skipped
    (the frames there are lost, and asked times inside took the nearest frame that exists), or
    a still stretch of a variable-frame-rate recording. Either way the caller should know."""
    if len(window_times) < 3:
        return []
    times = np.array(window_times)
    steps = np.diff(times)
    usual = float(np.median(steps))
    notes = []
    for i in np.flatnonzero(steps > max(GAP_MIN_S, GAP_MIN_FRAMES * usual)):
        a, b = float(times[i]), float(times[i + 1])
        if b > start and a < end:
            notes.append(f"no frames for {b - a:.2f} s between {a:.3f} and {b:.3f} s (damaged or dropped data, "
                         "or a still stretch of a variable-rate video): asked times there took the nearest frame")
    return notes
