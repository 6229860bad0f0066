"""Exact sampled frames for one clip, each with its presentation time.

How a clip is read:

1. *Window index* (PyAV, demux only, no decode): seek to the keyframe before the clip and list
   every video packet's presentation ticks up to just past the clip end. Sorted, these are the
   exact times of the frames in the window, and the keyframes among them.
2. *Selection*: every asked time ``start + j / fps`` takes the frame whose presentation time is
   nearest (ties to the earlier frame), so variable-frame-rate video is sampled by time, not by
   ``index / fps``. Asked times past the last frame of the stream take the last frame; asked times
   inside a hole of undecodable data are reported in ``missing``.
3. *Decode*: PyAV (the default reader) decodes forward from the keyframe at or before each
   selected frame and seeks ahead only when the next selected frame's keyframe lies beyond the
   decoder's position (sparse sampling skips whole GOPs; dense sampling never re-seeks). H.264
   packets that hold only non-reference pictures (``nal``) and are not selected never reach the
   decoder: no other frame is predicted from them (35 % of the benchmark's x264 file at 2 fps).
   decord (``VIDEOQA_FRAME_READER=decord``) decodes the selected frames by index instead; its
   float32 timestamps only map exact times to its indices. Where decord cannot open or decode the
   file exactly (AV1, HEVC, a decord error, an index that does not line up) PyAV takes over. decord is no longer the default: its memory grows with the file
   (1.2 GB reading a 60-minute 720p file) and, reading every frame, it is slower than PyAV here
   (``docs/benchmarks.md``).
4. Frames are resized to the planned size as they are converted (PyAV: swscale in ``reformat``;
   decord: the scale in its own filter graph, opened at the clip's size; for quarter-turned video
   decord gives stored-size frames, resized here in chunks of 16) and turned upright (display
   rotation) by one shared step.

Memory: ``FrameReader.stream`` hands out one frame at a time as it is decoded, so the reader
holds one frame, the window index and the decoder's own buffers, whatever the clip or file
length. ``read`` / ``read_frames`` collect a clip into one block allocated once (the frames the
caller asked for, and no copy of them: the vision model takes the block as it is).
"""

from __future__ import annotations

import bisect
import logging
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np

from video_qa.config import get_settings
from video_qa.media.errors import MediaError
from video_qa.media.nal import disposable_h264, nal_length_size
from video_qa.media.plan import ClipPlan
from video_qa.media.probe import Probe, probe as probe_file

log = logging.getLogger(__name__)

INDEX_MARGIN_S = 1.0
READERS = ("decord", "pyav")
# Codecs whose frames decord returns exactly (proven by tests/video_qa/media/test_frames.py).
# decord cannot open AV1 at all, and with HEVC (open GOPs) it returns frames a few indices off
# around keyframes, so those, and any codec not listed, go to PyAV.
DECORD_CHUNK = 16
DECORD_CODECS = frozenset({"h264", "vp8", "vp9", "mpeg4", "mjpeg"})


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


@dataclass(frozen=True)
class Sample:
    asked: float  # the asked sample time, seconds
    time: float  # presentation time of the frame that answers it, seconds
    image: np.ndarray  # uint8 RGB, height x width x 3, upright, planned size


@dataclass
class _Window:
    ticks: list[int]  # sorted presentation ticks of every frame in the window
    keyframes: list[int]  # sorted ticks of the keyframes in the window
    corrupt: bool
    times: list[float] = field(default_factory=list)  # ``ticks`` in seconds (Probe.seconds), computed once


def _upright(image: np.ndarray, rotation: int) -> np.ndarray:
    """Rotate counter-clockwise by ``rotation`` degrees (display-matrix convention)."""
    k = (rotation // 90) % 4
    return np.ascontiguousarray(np.rot90(image, k)) if k else image


def _resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    if image.shape[1] == width and image.shape[0] == height:
        return image
    from PIL import Image  # only the decord path of quarter-turned video resizes here

    return np.asarray(Image.fromarray(image).resize((width, height), Image.Resampling.BILINEAR))


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


GAP_MIN_S = 1.0
GAP_MIN_FRAMES = 10


def _gaps(window_times: list[float], start: float, end: float) -> list[str]:
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


class FrameReader:
    """Reads clips of one file; reuse it for many clips (decord indexes a file once per open)."""

    def __init__(
        self, path: str | Path, probe: Probe | None = None, prefer: str | None = None, skip_nonref: bool = True
    ) -> None:
        """``prefer``: the reader, default the ``VIDEOQA_FRAME_READER`` setting (PyAV).
        ``skip_nonref``: the PyAV path leaves unsampled H.264 non-reference frames undecoded."""
        prefer = prefer or get_settings().frame_reader
        if prefer not in READERS:
            raise ValueError(f"prefer must be one of {READERS}")
        self.path = Path(path)
        self.probe = probe or probe_file(self.path)
        self.prefer = prefer
        self.skip_nonref = skip_nonref
        self.skipped = 0  # packets the PyAV path left out of the decoder (non-reference, unsampled)
        self._container: av.container.InputContainer | None = None  # decoding
        self._index: av.container.InputContainer | None = None  # demux-only window index
        self._front: int | None = None  # highest packet ticks fed to the decoder since its last seek
        self._last_out: int | None = None  # ticks of the last frame the decoder returned
        self._decord = None
        self._decord_size: tuple[int, int] | None = None
        self._decord_times: np.ndarray | None = None
        self._decord_failed: str | None = None

    # ---- lifecycle
    def close(self) -> None:
        for container in (self._container, self._index):
            if container is not None:
                container.close()
        self._container = self._index = None
        self._decord = None
        self._decord_times = None

    def __enter__(self) -> FrameReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- PyAV
    def _open(self) -> av.container.InputContainer:
        try:
            return av.open(str(self.path))
        except av.error.FFmpegError as error:
            raise MediaError(self.path, f"cannot open for decoding: {error}") from error

    def _av(self) -> av.container.InputContainer:
        if self._container is None:
            self._container = self._open()
            self._container.streams.video[0].thread_type = "AUTO"
        return self._container

    def _seek(self, container: av.container.InputContainer, ticks: int) -> None:
        container.seek(ticks, stream=container.streams.video[0], backward=True, any_frame=False)

    def _window(self, start: float, end: float) -> _Window:
        """Exact presentation ticks of every frame from the keyframe before ``start`` to past ``end``."""
        p = self.probe
        if self._index is None:
            self._index = self._open()
        container = self._index
        stream = container.streams.video[0]
        lo = p.start_pts + int((max(0.0, start - INDEX_MARGIN_S)) / p.time_base)
        hi = p.start_pts + int((end + INDEX_MARGIN_S) / p.time_base)
        try:
            self._seek(container, lo)
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
        return _Window(ticks=ticks, keyframes=keys, corrupt=corrupt, times=[p.seconds(t) for t in ticks])

    def _disposable(self, stream: av.video.stream.VideoStream):  # type: ignore[no-untyped-def]
        """A test for packets no other frame needs, or None where we cannot tell (see ``nal``)."""
        if not self.skip_nonref or stream.codec_context.name != "h264":
            return None
        size = nal_length_size(stream.codec_context.extradata)
        if size:
            return lambda packet: disposable_h264(memoryview(packet), size)
        return lambda packet: disposable_h264(bytes(packet), 0)

    def _decode_pyav(
        self, wanted: list[int], window: _Window, size: tuple[int, int], notes: list[str]
    ) -> Iterator[tuple[int, np.ndarray]]:
        """Decode the frames with the given ticks (sorted, unique) straight to ``size`` (stored
        orientation), yielding ``(ticks, image)`` in ascending order as each is decoded.
        Undecodable ones are not yielded. The decoder keeps its place between clips, so reading
        consecutive clips never decodes a frame twice."""
        container = self._av()
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
                self._seek(container, keyframe)  # skips every GOP between here and there undecoded
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
                        self.skipped += 1  # no frame is predicted from it and we do not want it
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
            notes.append(f"{errors} undecodable packet(s) skipped")

    # ---- decord
    def _decord_reader(self, size: tuple[int, int] | None):  # type: ignore[no-untyped-def]
        """decord's reader for frames of ``size`` (width, height; None: as stored). decord scales
        in its own filter graph when it converts a frame, which is cheaper than converting at full
        size and resizing (and keeps full-size RGB frames out of memory); one reader is kept, a
        clip planned at another size opens another."""
        if self._decord_failed is None and self.probe.video_codec not in DECORD_CODECS:
            self._decord_failed = f"codec {self.probe.video_codec} is not read exactly by decord"
            log.info("%s: %s, using PyAV", self.path, self._decord_failed)
        if self._decord_failed is not None:
            return None
        if self._decord is None or self._decord_size != size:
            import decord

            self._decord = None  # the old reader's buffers go before the new one's are made
            scale = {"width": size[0], "height": size[1]} if size is not None else {}
            try:
                self._decord = decord.VideoReader(str(self.path), ctx=decord.cpu(0), num_threads=0, **scale)
                self._decord_size = size
                if self._decord_times is None:
                    self._decord_times = self._decord.get_frame_timestamp(range(len(self._decord)))[:, 0].astype(np.float64)
            except decord.DECORDError as error:
                self._decord_failed = str(error).splitlines()[0][-200:]
                log.info("%s: decord cannot read this file, using PyAV (%s)", self.path, self._decord_failed)
                return None
        return self._decord

    def _decord_plan(self, wanted: list[int], size: tuple[int, int]):  # type: ignore[no-untyped-def]
        """decord's reader and the index of each wanted frame, or None where decord is not used
        for this clip (nothing is decoded yet, so PyAV takes the whole clip)."""
        rotation = self.probe.rotation
        # decord turns rotated video itself; for quarter turns the size it scales to is ambiguous,
        # so those frames come at their stored size and are resized here.
        reader = self._decord_reader(None if rotation in (90, 270) else size)
        if reader is None or self._decord_times is None:
            return None
        times = self._decord_times
        spacing = 1.0 / max(self.probe.avg_fps or self.probe.nominal_fps or 30.0, 1.0)
        indices = []
        for ticks in wanted:
            t = self.probe.seconds(ticks)
            i = int(np.clip(np.searchsorted(times, t), 0, len(times) - 1))
            best = min((j for j in (i - 1, i, i + 1) if 0 <= j < len(times)), key=lambda j: abs(times[j] - t))
            if abs(times[best] - t) > 0.3 * spacing + 0.005:  # float32 times: ~4 ms at 10 h
                self._decord_failed = f"decord's index does not line up at {t:.3f} s"
                log.info("%s: %s, using PyAV", self.path, self._decord_failed)
                return None
            indices.append(best)
        return reader, indices

    def _decode_decord(
        self, reader, wanted: list[int], indices: list[int], size: tuple[int, int]  # type: ignore[no-untyped-def]
    ) -> Iterator[tuple[int, np.ndarray]]:
        """``(ticks, image)`` for the wanted frames, 16 at a time, in order. Stops early (with
        ``_decord_failed`` set) where decord fails; the caller reads the rest with PyAV."""
        import decord

        rotation = self.probe.rotation
        for at in range(0, len(indices), DECORD_CHUNK):  # bounded: 16 frames at a time
            try:
                batch = reader.get_batch(indices[at : at + DECORD_CHUNK]).asnumpy()
            except decord.DECORDError as error:
                self._decord_failed = str(error).splitlines()[0][-200:]
                log.info("%s: decord failed to decode, using PyAV (%s)", self.path, self._decord_failed)
                return
            for ticks, image in zip(wanted[at : at + DECORD_CHUNK], batch):
                # decord applies the display rotation itself; undo it so both readers share _upright
                yield ticks, _resize(_upright(image, -rotation), *size)
            del batch

    # ---- the clip
    def stream(self, clip: ClipPlan) -> ClipStream:
        """The clip's sampled frames one at a time, in time order, as they are decoded: memory
        is one frame plus the decoder's own, whatever the clip's length. ``missing``, ``notes``
        and ``reader`` of the returned stream are complete once it has been iterated. The reader
        has one decoder: iterate one stream at a time (a stream left part-way is harmless; the
        next one seeks where it needs to)."""
        return ClipStream(self, clip)

    def read(self, clip: ClipPlan) -> ClipFrames:
        """The clip's sampled frames, whole: one ``(n, height, width, 3)`` block (``ClipFrames.array``,
        allocated once; ``frames`` are views of it)."""
        stream = self.stream(clip)
        block: np.ndarray | None = None
        times: list[float] = []
        asked: list[float] = []
        for n, sample in enumerate(stream):
            if block is None:
                block = np.empty((len(clip.sample_times), *sample.image.shape), dtype=np.uint8)
            block[n] = sample.image
            times.append(sample.time)
            asked.append(sample.asked)
        array = block[: len(times)] if block is not None else None
        return ClipFrames(
            frames=list(array) if array is not None else [], times=times, asked=asked, reader=stream.reader,
            missing=stream.missing, notes=stream.notes, array=array,
        )

    def _samples(self, clip: ClipPlan, out: ClipStream) -> Iterator[Sample]:
        p = self.probe
        asked = clip.sample_times
        window = self._window(clip.start, clip.end)
        if not window.ticks:
            raise MediaError(self.path, f"no video packets between {clip.start:.3f} and {clip.end:.3f} s")
        # Asked times ascend and each takes its nearest frame, so the chosen ticks never descend:
        # one pass over the decoded frames (ascending too) hands out every sample in order.
        chosen = select_ticks(asked, window.ticks, window.times)
        wanted = sorted({t for t in chosen if t is not None})
        size = (clip.height, clip.width) if p.rotation in (90, 270) else (clip.width, clip.height)
        decode_notes: list[str] = []

        def decoded() -> Iterator[tuple[int, np.ndarray]]:
            last: int | None = None
            if self.prefer == "decord" and not window.corrupt:
                planned = self._decord_plan(wanted, size)
                if planned is not None:
                    decord_reader, indices = planned
                    for ticks, image in self._decode_decord(decord_reader, wanted, indices, size):
                        out.reader, last = "decord", ticks
                        yield ticks, image
                if self._decord_failed:
                    decode_notes.append(f"decord: {self._decord_failed}")
            # decord returns every wanted frame unless it failed: what is left is PyAV's
            rest = wanted if last is None else wanted[bisect.bisect_right(wanted, last):]
            if rest:
                if last is not None:
                    out.reader = "decord,pyav"
                yield from self._decode_pyav(rest, window, size, decode_notes)

        j = 0
        for ticks, image in decoded():
            while j < len(asked) and (chosen[j] is None or chosen[j] < ticks):  # type: ignore[operator]
                out.missing.append(asked[j])
                j += 1
            upright = _upright(image, p.rotation)
            while j < len(asked) and chosen[j] == ticks:
                yield Sample(asked[j], p.seconds(ticks), upright)
                j += 1
        out.missing += asked[j:]
        out.notes += decode_notes
        if window.corrupt:
            out.notes.append("corrupt packets in this clip")
        out.notes += _gaps(window.times, clip.start, clip.end)
        if out.missing:
            out.notes.append(f"{len(out.missing)} of {len(asked)} sampled frames could not be decoded")
            log.warning("%s clip %d: %s", self.path, clip.index, out.notes[-1])


class ClipStream:
    """One clip's samples, produced while iterated (``FrameReader.stream``)."""

    def __init__(self, reader: FrameReader, clip: ClipPlan) -> None:
        self.clip = clip
        self.reader = "pyav"  # the reader that produced the frames ("decord,pyav": decord failed part-way)
        self.missing: list[float] = []  # asked times with no decodable frame
        self.notes: list[str] = []
        self._samples = reader._samples(clip, self)

    def __iter__(self) -> Iterator[Sample]:
        return self._samples


def read_frames(path: str | Path, clip: ClipPlan, probe: Probe | None = None, prefer: str | None = None) -> ClipFrames:
    """The clip's sampled frames (see module doc). Opens and closes a reader."""
    with FrameReader(path, probe=probe, prefer=prefer) as reader:
        return reader.read(clip)
