"""Exact sampled frames for one clip, each with its presentation time.

How a clip is read (``FrameReader``):

1. *Window index* (``window``, demux only): the exact presentation ticks of every frame around
   the clip, and the keyframes among them.
2. *Selection* (``window.select_ticks``): every asked time takes the frame whose presentation time
   is nearest (ties to the earlier frame). Asked times past the last frame of the stream take the
   last frame; asked times whose frame cannot be decoded are reported in ``missing``.
3. *Decode* (``decode``): the chosen frames, by the decoder the reader was opened with: PyAV (the
   default) or decord, with PyAV taking over where decord does not read exactly. Decoders hand out
   frames at the planned size in stored orientation; they are turned upright (display rotation)
   here, by one shared step.

``FrameReader.stream`` hands out one frame at a time as it is decoded, so the reader holds one
frame, the window index and the decoder's own buffers, whatever the clip or file length. ``read``
/ ``read_frames`` collect a clip into one block allocated once (the frames the caller asked for,
and no copy of them: the vision model takes the block as it is).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

from video_qa.media.decode import open_decoder, reader_name, upright
from video_qa.media.errors import MediaError
from video_qa.media.plan import ClipPlan
from video_qa.media.probe import Probe, probe as probe_file
from video_qa.media.samples import ClipFrames, ClipStream, Sample
from video_qa.media.window import WindowIndex, gap_notes, select_ticks

log = logging.getLogger(__name__)


class FrameReader:
    """Reads clips of one file; reuse it for many clips (the decoder keeps its place, decord
    indexes a file once per open)."""

    def __init__(
        self, path: str | Path, probe: Probe | None = None, prefer: str | None = None, skip_nonref: bool = True
    ) -> None:
        """``prefer``: the reader, ``pyav`` or ``decord``, default the ``VIDEOQA_FRAME_READER``
        setting (PyAV). ``skip_nonref``: the PyAV path leaves unsampled H.264 non-reference frames
        undecoded."""
        self.prefer = reader_name(prefer)
        self.path = Path(path)
        self.probe = probe or probe_file(self.path)
        self._index = WindowIndex(self.path, self.probe)
        self._decoder = open_decoder(self.prefer, self.path, self.probe, skip_nonref=skip_nonref)

    @property
    def skipped(self) -> int:
        """Packets the PyAV path left out of the decoder (non-reference, unsampled)."""
        return self._decoder.skipped

    # ---- lifecycle
    def close(self) -> None:
        self._decoder.close()
        self._index.close()

    def __enter__(self) -> FrameReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- the clip
    def stream(self, clip: ClipPlan) -> ClipStream:
        """The clip's sampled frames one at a time, in time order, as they are decoded: memory
        is one frame plus the decoder's own, whatever the clip's length. ``missing``, ``notes``
        and ``reader`` of the returned stream are complete once it has been iterated. The reader
        has one decoder: iterate one stream at a time (a stream left part-way is harmless; the
        next one seeks where it needs to)."""
        return ClipStream(clip, self._samples)

    def read(self, clip: ClipPlan) -> ClipFrames:
        """The clip's sampled frames, whole: one ``(n, height, width, 3)`` block (``ClipFrames.array``,
        allocated once; ``frames`` are views of it)."""
        return self.stream(clip).collect()

    def _samples(self, out: ClipStream) -> Iterator[Sample]:
        p = self.probe
        clip = out.clip
        asked = clip.sample_times
        window = self._index.window(clip.start, clip.end)
        if not window.ticks:
            raise MediaError(self.path, f"no video packets between {clip.start:.3f} and {clip.end:.3f} s")
        # Asked times ascend and each takes its nearest frame, so the chosen ticks never descend:
        # one pass over the decoded frames (ascending too) hands out every sample in order.
        chosen = select_ticks(asked, window.ticks, window.times)
        wanted = sorted({t for t in chosen if t is not None})
        size = (clip.height, clip.width) if p.rotation in (90, 270) else (clip.width, clip.height)
        j = 0
        for ticks, image in self._decoder.decode(wanted, window, size, out.decoding):
            while j < len(asked) and (chosen[j] is None or chosen[j] < ticks):  # type: ignore[operator]
                out.missing.append(asked[j])
                j += 1
            turned = upright(image, p.rotation)
            while j < len(asked) and chosen[j] == ticks:
                yield Sample(asked[j], p.seconds(ticks), turned)
                j += 1
        out.missing += asked[j:]
        out.notes += out.decoding.notes
        if window.corrupt:
            out.notes.append("corrupt packets in this clip")
        out.notes += gap_notes(window.times, clip.start, clip.end)
        if out.missing:
            out.notes.append(f"{len(out.missing)} of {len(asked)} sampled frames could not be decoded")
            log.warning("%s clip %d: %s", self.path, clip.index, out.notes[-1])


def read_frames(path: str | Path, clip: ClipPlan, probe: Probe | None = None, prefer: str | None = None) -> ClipFrames:
    """The clip's sampled frames (see module doc). Opens and closes a reader."""
    with FrameReader(path, probe=probe, prefer=prefer) as reader:
        return reader.read(clip)
