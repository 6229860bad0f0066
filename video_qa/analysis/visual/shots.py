"""Shots of a clip from its sampled frames, and shots stitched across clip boundaries.

A cut found at sample ``i`` (``video_qa.analysis.scenes``) lies after sample ``i - 1`` and at or
before sample ``i``: the shot after it starts at the cut's time (sample ``i``'s, or the frame the
demux pass found the cut at between the two) with the cut's uncertainty as its start
uncertainty, and the shot before it ends there with the same uncertainty. A clip's first shot
starts at the clip's start and its last ends at the clip's end (uncertainty 0); they are marked
open (``open_start``, ``open_end``) because the shot may go on in the neighbouring clip:
``stitch_shots`` joins such a pair at finalize when their keyframes' image vectors agree. A shot
longer than ``max_shot`` seconds is split at the sample with the largest picture change inside it
(ties: the one nearest its middle) until every piece is short enough or has no sample left whose
change reaches ``CHANGE_LEVEL``: a still picture (a slide, a parked camera, a ticking clock in a
corner) stays one shot however long. Each shot's keyframe is its sample nearest the shot's middle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from video_qa.moments.values import NewMoment

CHANGE_LEVEL = 8.0  # mean HSV difference (0-255, as scenes.frame_deltas) that counts as a change of the picture
STITCH_MIN_COSINE = 0.9  # keyframes of one shot on both sides of a clip boundary agree at least this much


@dataclass(frozen=True)
class Shot:
    start: float
    end: float
    start_uncertainty: float
    end_uncertainty: float
    first: int  # index of its first sample
    last: int  # index of its last sample
    open_start: bool
    open_end: bool

    def keyframe(self, times: Sequence[float]) -> int:
        """The index of the shot's sample nearest its middle."""
        middle = (self.start + self.end) / 2
        return min(range(self.first, self.last + 1), key=lambda i: (abs(times[i] - middle), i))


def _split(shot: Shot, times: Sequence[float], deltas: Sequence[float], max_shot: float) -> list[Shot]:
    if shot.end - shot.start <= max_shot or shot.last <= shot.first:
        return [shot]
    middle = (shot.start + shot.end) / 2
    changes = [i for i in range(shot.first + 1, shot.last + 1) if deltas[i] >= CHANGE_LEVEL]
    if not changes:
        return [shot]
    at = max(changes, key=lambda i: (deltas[i], -abs(times[i] - middle)))
    gap = float(times[at] - times[at - 1])
    left = Shot(shot.start, float(times[at]), shot.start_uncertainty, gap, shot.first, at - 1, shot.open_start, False)
    right = Shot(float(times[at]), shot.end, gap, shot.end_uncertainty, at, shot.last, False, shot.open_end)
    return _split(left, times, deltas, max_shot) + _split(right, times, deltas, max_shot)


def clip_shots(times: Sequence[float], deltas: Sequence[float], cuts: Sequence[Sequence[float]], clip_start: float,
               clip_end: float, max_shot: float) -> list[Shot]:
    """The shots of a clip whose samples are at ``times`` (``deltas[i]``: the picture change from
    sample ``i - 1`` to ``i``), cut at ``cuts`` ([[time, uncertainty]]); see module doc. A cut
    belongs to the first sample at or after its time (a cut the demux pass placed between two
    samples keeps its own time); one at the clip's first sample (found against a frame before the
    clip) closes the clip's first shot."""
    if not times:
        return []

    def sample_of(t: float) -> int:
        return next((i for i, s in enumerate(times) if round(float(s), 3) >= round(float(t), 3)), len(times))

    at = {sample_of(t): (float(t), float(u)) for t, u in cuts}
    index = sorted(i for i in at if 0 < i < len(times))
    opened = 0 not in at and clip_start > 0
    bounds = [0, *index, len(times)]
    shots = []
    for n, (first, after) in enumerate(zip(bounds, bounds[1:])):
        start, start_u = (clip_start, 0.0) if n == 0 else at[first]
        end, end_u = (clip_end, 0.0) if after == len(times) else at[after]
        shot = Shot(start, end, start_u, end_u, first, after - 1, opened if n == 0 else False, after == len(times))
        shots.extend(_split(shot, times, deltas, max_shot))
    return shots


def _agree(a: NewMoment, b: NewMoment) -> bool:
    if a.image_embedding is not None and b.image_embedding is not None:
        if a.image_model != b.image_model or a.image_embedding.shape != b.image_embedding.shape:
            return False
        return float(np.dot(a.image_embedding, b.image_embedding)) >= STITCH_MIN_COSINE
    return a.image_embedding is None and b.image_embedding is None and a.text == b.text


def stitch_shots(moments: Sequence[NewMoment]) -> list[NewMoment]:
    """Visual moments in time order, with each open end joined to the open start of the next
    clip's first shot where they meet and their keyframes agree (``STITCH_MIN_COSINE``); the
    joined moment keeps the longer piece's keyframe, vectors and labels."""
    out: list[NewMoment] = []
    for m in sorted(moments, key=lambda m: (m.start, m.end)):
        prev = out[-1] if out else None
        if (prev is not None and prev.meta.get("open_end") and m.meta.get("open_start")
                and abs(prev.end - m.start) < 1e-6 and _agree(prev, m)):
            keep = prev if prev.end - prev.start >= m.end - m.start else m
            meta = {**keep.meta, "start_uncertainty": prev.meta.get("start_uncertainty", 0.0),
                    "end_uncertainty": m.meta.get("end_uncertainty", 0.0),
                    "open_start": prev.meta.get("open_start", False), "open_end": m.meta.get("open_end", False),
                    "clips": [*prev.meta.get("clips", []), *m.meta.get("clips", [])]}
            out[-1] = NewMoment(prev.start, m.end, keep.text, meta, keep.embedding, keep.image_embedding,
                                keep.image_model)
            continue
        out.append(m)
    return out
