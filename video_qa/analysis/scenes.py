"""Scene cuts between a clip's sampled frames: an HSV content delta like PySceneDetect's
ContentDetector, on the frames the ``hear_read`` part already decodes for on-screen text. Finalize
makes chapter boundaries of them (``chapters``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


CUT_THUMB = (160, 90)  # the size frames are compared at
CUT_LEVEL = 27.0  # ContentDetector's default threshold (mean HSV difference, 0-255)
CUT_RATIO = 2.5  # ... and at least this many times the neighbouring samples' differences on one side
CUT_SIDE = 4  # samples on each side whose differences are the neighbourhood's


def _r(x: float) -> float:
    return round(float(x), 3)


def cut_thumb(frame: np.ndarray) -> np.ndarray:
    """The frame as ``scene_cuts`` looks at it (it resizes to ``CUT_THUMB`` first: resizing this
    again changes nothing), so a clip's frames need not be kept to find its cuts."""
    import cv2  # opencv ships with rapidocr

    return cv2.resize(np.ascontiguousarray(frame), CUT_THUMB, interpolation=cv2.INTER_AREA)


def frame_deltas(frames: Sequence[np.ndarray]) -> list[float]:
    """The mean HSV difference (0-255) of each frame from the one before it (0 for the first),
    at ``CUT_THUMB`` size."""
    import cv2  # opencv ships with rapidocr

    hsv = [cv2.cvtColor(cv2.resize(np.ascontiguousarray(f), CUT_THUMB, interpolation=cv2.INTER_AREA),
                        cv2.COLOR_RGB2HSV).astype(np.float32) for f in frames]
    return [0.0] + [float(np.abs(b - a).mean()) for a, b in zip(hsv, hsv[1:])] if hsv else []


def _usual(deltas: Sequence[float]) -> float:
    """The lower median of ``deltas`` (0 for none): with half of them or more quiet, quiet."""
    return float(sorted(deltas)[(len(deltas) - 1) // 2]) if deltas else 0.0


def _same_shot(side: Sequence[float], change: float) -> list[float]:
    """The changes of ``side`` (nearest first) up to the first larger than ``change``: beyond a
    larger change lies another shot, whose stillness or motion says nothing about this one."""
    kept = []
    for delta in side:
        if delta > change:
            break
        kept.append(delta)
    return kept


def scene_cuts(frames: Sequence[np.ndarray], times: Sequence[float]) -> list[list[float]]:
    """[[time, uncertainty]] of hard cuts between consecutive sampled frames: the cut lies after
    the earlier frame and at or before the later one, which is the time given, the gap back to the
    earlier one its uncertainty. This only says which sampling interval holds a cut; the one place
    a cut is put on its frame is ``cut_frames.exact_cuts`` (the demux pass's ``sharp`` changes
    place samples, ``media.plan``, and time no cut).

    A cut is a change of at least ``CUT_LEVEL`` that is ``CUT_RATIO`` times the usual change (the
    lower median) of the ``CUT_SIDE`` samples before it or of those after it, whichever is quieter,
    each side read only up to a larger change (``_same_shot``): a change no larger than the motion
    on both sides of it is no cut, and cuts one or two samples apart between still shots (a slide
    deck, photographs, sampled every 2 s) are all found, where a median of both sides together
    counted the other cuts as motion and lost one in two. Without the stop at a larger change, a
    moving shot's ordinary changes just before a cut into a still shot were measured against the
    stillness beyond the cut and taken for cuts."""
    if len(frames) < 2:
        return []
    deltas = frame_deltas(frames)
    cuts = []
    for i in range(1, len(deltas)):
        before = _same_shot(deltas[i - 1:max(0, i - 1 - CUT_SIDE):-1], deltas[i])
        after = _same_shot(deltas[i + 1:i + 1 + CUT_SIDE], deltas[i])
        if before and after:
            level = min(_usual(before), _usual(after))
        elif before or after:
            level = _usual(before or after)
        else:  # a larger change on both sides next to it: no quiet side to measure it against
            level = float(np.median(deltas[max(1, i - CUT_SIDE):i] + deltas[i + 1:i + 1 + CUT_SIDE]))
        if deltas[i] >= CUT_LEVEL and deltas[i] >= CUT_RATIO * level:
            cuts.append([_r(times[i]), _r(times[i] - times[i - 1])])
    return cuts
