"""Scene cuts to the frame, the one place a cut is timed: each cut found between two samples
(``scenes.scene_cuts``: at the later sample, uncertain back to the earlier one) is looked for again
among the video's own frames in that interval, and given at the presentation time of the first
frame of the new shot, its uncertainty the gap to the frame before.

The demux pass (``media.activity``) times no cut: its ``sharp`` changes only place samples
(``media.plan``). It sees a cut only where the compressed stream shows one (a packet-size spike);
a change between two flat pictures, or between stills, makes none, and its time can be a frame
late. Each cut costs one decode of at most a sampling interval of video, compared at 160x90 like
the samples (measured on a cut-heavy file: docs/benchmarks.md, block ``ingest-cuts``;
``VIDEOQA_EXACT_CUTS=false`` turns it off to measure it). A cut whose frames show no single
change of ``CUT_LEVEL`` (a dissolve, a fade), or that reaches back before the clip (found against
the frame before it), keeps the sample's time and uncertainty.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from video_qa.analysis.scenes import CUT_LEVEL, frame_deltas
from video_qa.media import FrameReader
from video_qa.media.errors import MediaError
from video_qa.media.plan import ClipPlan, sampling_plan
from video_qa.media.probe import Probe

log = logging.getLogger(__name__)

SIDE = 320  # longest side of the frames decoded for it


def _r(x: float) -> float:
    return round(float(x), 3)


def exact_cuts(path: str, probe: Probe, clip: ClipPlan, cuts: Sequence[Sequence[float]],
               prefer: str | None = None) -> list[list[float]]:
    """``cuts`` ([[time, uncertainty]]) each at the first frame of its new shot where one shows
    (see module doc): [[frame time, gap to the frame before it]]."""
    rate = max(probe.nominal_fps, probe.avg_fps)
    out = [[float(t), float(u)] for t, u in cuts]
    if not out or rate <= 0:
        return out
    with FrameReader(path, probe=probe, prefer=prefer) as reader:
        for cut in out:
            at, gap = cut
            since = at - gap
            if gap <= 1.5 / rate or since < clip.start - 1e-6:
                continue
            try:
                samples = list(reader.stream(sampling_plan(since, at + 0.5 / rate, rate, probe, max_side=SIDE,
                                                           index=clip.index)))
            except MediaError as error:  # the cut keeps its time: the clip's own samples decoded
                log.info("clip %d: the frames before the cut at %.3f s do not decode: %s", clip.index, at, error)
                continue
            if len(samples) < 2:
                continue
            deltas = frame_deltas([s.image for s in samples])
            best = max(range(1, len(deltas)), key=lambda i: (deltas[i], -i))
            found = samples[best].time
            if deltas[best] >= CUT_LEVEL and since < found <= at + 1e-6:
                cut[:] = [_r(found), _r(found - samples[best - 1].time)]
    return out
