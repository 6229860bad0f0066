"""The dynamic-fps clip plan: timeline -> clips, each with its sample rate, frame count and size.

Policy (``docs/media.md``, "plan"):

* Clips: the video is cut into ``n = ceil(duration / clip_seconds)`` clips of equal length, so no
  clip is longer than ``clip_seconds`` (default 60 s) and there is no short tail clip. Boundaries
  are ``duration * i / n``; neighbours share the exact same float, so clips cover the timeline
  with no gap and no overlap.
* Rates come from the ladder ``4 / k`` so that ``4 / fps`` and hence the model's time ids stay
  whole. The video's top rate is the highest ladder rate not above ``base_fps`` whose frames fit
  a clip's share of the hour budget (``token_budget_per_hour * length / 3600``, at most
  ``max_clip_tokens``) at the smallest frame size and stay under ``max_frames_per_clip``.
* Size: one frame size for the whole video, the largest (aspect-preserving, sides multiples of
  28, pixels within ``[min_pixels, max_pixels]``) whose tokens at the top rate fit that share.
  It never changes from clip to clip, so the rate/size trade-off cannot flip on a few tokens.
* Rate per clip (``adaptive_fps``): the clip's absolute change level (``media.activity``:
  predicted-frame bytes / keyframe bytes, the median of its seconds) picks one of the levels
  top, top/2, top/4 ... down to the floor (``FLOOR_FPS``, 0.25 fps: ``4 / fps`` = 16). Levels
  change at fixed thresholds (``LEVEL_THRESHOLDS``); within ``HYSTERESIS`` of a threshold a clip
  keeps its predecessor's level, so near-equal neighbours are not sampled differently.
* Changes: every change moment the demux pass found gets a sample after it: a cut within 1 s
  (within 2 s in a still or calm clip, where the new picture stays: a slide change), an onset
  (something entering a still view, found late) right at its found time. The model takes one rate
  per clip (its time ids are ``4 / fps`` apart), so frames are put after changes by the clip's
  sampling phase: ``offset`` moves the whole grid so that a sample falls just after the changes;
  when no phase covers them all, the clip goes up a level.
* A clip too short for ``MIN_FRAMES`` at its level's rate takes the slowest rate that keeps them
  inside it.
* Frames: ``round(length * fps)`` (``ceil((length - offset) * fps)`` with an offset) made even, at
  least 4, at most ``max_frames_per_clip``; sample ``j`` is at ``start + offset + j / fps``.
* Without ``adaptive_fps`` or without activity every clip takes the top rate at offset 0.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

from video_qa.config import Settings
from video_qa.media.activity import ClipActivity
from video_qa.media.probe import Probe

PATCH = 28  # 14-pixel patches merged 2x2
TEMPORAL_PATCH = 2
MIN_FRAMES = 4
MAX_LADDER_FPS = 4.0
FLOOR_FPS = 0.25  # the slowest rate for still content: 4 / fps = 16, one frame every 4 s
# change level (predicted bytes / keyframe bytes) at which a clip takes the next level up:
# still < 0.006 <= calm < 0.06 <= moving < 0.15 <= busy (scale measured in docs/media.md)
LEVEL_THRESHOLDS = (0.006, 0.06, 0.15)
LEVEL_NAMES = ("still", "calm", "moving", "busy")
HYSTERESIS = 1.3  # within this factor of a threshold a clip keeps its predecessor's level
CHANGE_WINDOW = 1.0  # seconds: a change should have a sample within this after it
# A cut is found to a frame or two (a B-frame shown before the cut's I-frame): its sample is asked
# in [found + SETTLE, found + CHANGE_WINDOW - SETTLE]. An onset (something entering a noisy view)
# is found up to ~0.85 s late: its sample is asked in [found, found + ONSET_SLACK].
SETTLE = 0.1
ONSET_SLACK = 0.15
# A cut in a still or calm clip (a slide change) leaves a new picture that stays: it wants a sample
# within STILL_CUT_WINDOW (a sample 2 s later sees the same picture); a cut in moving content, and
# any onset (transient: a 3 s event), within CHANGE_WINDOW.
STILL_CUT_WINDOW = 2.0


@dataclass(frozen=True)
class ClipPlan:
    index: int
    start: float
    end: float
    fps: float
    frames: int
    width: int
    height: int
    tokens: int
    budget: int
    activity: float  # the clip's change level (predicted / keyframe bytes); -1: not measured
    why: str
    extra: dict[str, Any] = field(default_factory=dict)
    offset: float = 0.0  # seconds from ``start`` to the first sample (the grid's phase)

    @property
    def length(self) -> float:
        return self.end - self.start

    @property
    def sample_times(self) -> list[float]:
        """Asked times in seconds from the stream start: ``start + offset + j / fps``."""
        return [self.start + self.offset + j / self.fps for j in range(self.frames)]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def ladder_fps(k: int) -> float:
    """The k-th rate of the ladder, ``4 / k`` (k >= 1)."""
    return MAX_LADDER_FPS / k


def frame_count(length: float, fps: float, max_frames: int) -> int:
    """``length * fps`` rounded, made even, within ``[4, max_frames]``."""
    n = int(math.floor(length * fps + 0.5))
    n += n % 2
    return max(MIN_FRAMES, min(n, max_frames - max_frames % 2))


def tokens_for(frames: int, width: int, height: int) -> int:
    groups = math.ceil(frames / TEMPORAL_PATCH)
    return groups * (width // PATCH) * (height // PATCH)


def frame_size(src_w: int, src_h: int, target_pixels: float, min_pixels: int, max_pixels: int) -> tuple[int, int]:
    """Aspect-preserving size, sides multiples of 28, pixels within the bounds and not above
    ``target_pixels`` unless ``min_pixels`` forces it."""
    target = max(min(target_pixels, max_pixels), min_pixels)
    scale = math.sqrt(target / (src_w * src_h))
    w = max(PATCH, int(src_w * scale // PATCH) * PATCH)
    h = max(PATCH, int(src_h * scale // PATCH) * PATCH)
    # grow the shorter-rounded side until the floor holds (extreme aspect ratios)
    while w * h < min_pixels:
        if w / src_w <= h / src_h:
            w += PATCH
        else:
            h += PATCH
    while w * h > max_pixels and (w > PATCH or h > PATCH):
        if w >= h and w > PATCH:
            w -= PATCH
        else:
            h -= PATCH
    return w, h


def clip_edges(duration: float, clip_seconds: float) -> list[tuple[float, float]]:
    n = max(1, math.ceil(duration / clip_seconds - 1e-9))
    edges = [duration * i / n for i in range(n + 1)]
    edges[0], edges[-1] = 0.0, duration
    return list(zip(edges, edges[1:]))


@dataclass(frozen=True)
class VideoShape:
    """What is fixed for the whole video: the top rate (its ladder k), the frame size, the share."""

    top_k: int
    width: int
    height: int
    share: int  # visual tokens a clip may spend (its share of the hour budget, capped)
    lowered: bool  # the top rate is below base_fps to fit the share or the frame cap

    def rates(self) -> list[int]:
        """Ladder ks of the levels, slowest first: top, top/2, top/4 ... not below the floor."""
        floor_k = round(MAX_LADDER_FPS / FLOOR_FPS)
        ks = [self.top_k]
        while ks[-1] * 2 <= floor_k:
            ks.append(ks[-1] * 2)
        return ks[::-1]


def video_shape(probe: Probe, s: Settings, longest: float) -> VideoShape:
    share = int(min(s.max_clip_tokens, s.token_budget_per_hour * longest / 3600.0))
    min_w, min_h = frame_size(probe.width, probe.height, s.min_pixels, s.min_pixels, s.max_pixels)
    first_k = max(1, math.ceil(MAX_LADDER_FPS / s.base_fps - 1e-9))
    k = first_k
    while True:
        frames = frame_count(longest, ladder_fps(k), s.max_frames_per_clip)
        if longest * ladder_fps(k) > s.max_frames_per_clip + 1:  # too many frames at this rate
            k += 1
            continue
        if tokens_for(frames, min_w, min_h) <= share or frames == MIN_FRAMES:
            break
        k += 1
    groups = math.ceil(frames / TEMPORAL_PATCH)
    w, h = frame_size(probe.width, probe.height, share / groups * PATCH * PATCH, s.min_pixels, s.max_pixels)
    return VideoShape(k, w, h, share, k > first_k)


@dataclass(frozen=True)
class Window:
    """A sample is wanted somewhere in ``[start, end]`` (after a change at ``change``)."""

    change: float
    start: float
    end: float


def change_windows(edges: list[tuple[float, float]], activity: Sequence[ClipActivity], levels: list[int]) -> list[list[Window]]:
    """Per clip, the windows its samples must hit, one for each found change ``c``: ``[c + SETTLE,
    c + window - SETTLE]`` for a cut (``window``: ``STILL_CUT_WINDOW`` in a still or calm clip,
    else ``CHANGE_WINDOW``), ``[c, c + ONSET_SLACK]`` for an onset; one that starts past its clip's
    end is the next clip's."""
    out: list[list[Window]] = [[] for _ in edges]
    for i, ((start, end), a) in enumerate(zip(edges, activity)):
        window = STILL_CUT_WINDOW if levels[i] <= 1 else CHANGE_WINDOW
        for c in a.changes:
            lo, hi = (c + SETTLE, c + window - SETTLE) if c in a.sharp else (c, c + ONSET_SLACK)
            if lo < end or i == len(edges) - 1:
                out[i].append(Window(c, lo, min(hi, end) if hi > end and i < len(edges) - 1 else hi))
            else:
                out[i + 1].append(Window(c, max(lo, edges[i + 1][0]), hi))
    return out


def grid_count(length: float, fps: float, max_frames: int) -> int:
    """Grid points in ``[0, length)`` (``ceil(length * fps)``), made even, within ``[4, max_frames]``:
    a shifted grid keeps its last point inside the clip."""
    n = max(1, math.ceil(length * fps - 1e-9))
    n += n % 2
    return max(MIN_FRAMES, min(n, max_frames - max_frames % 2))


def grid(start: float, offset: float, fps: float, frames: int) -> list[float]:
    return [start + offset + j / fps for j in range(frames)]


def _covered(times: list[float], windows: list[Window]) -> int:
    return sum(any(w.start - 1e-9 <= t <= w.end + 1e-9 for t in times) for w in windows)


def best_offset(start: float, end: float, fps: float, windows: list[Window], max_frames: int) -> tuple[float, int, int]:
    """(offset, frames, windows covered): the phase of the sample grid that puts a sample in the
    most windows, preferring offset 0 and then the smallest."""
    period = 1.0 / fps
    candidates = [0.0]
    for w in windows:
        for pos in (w.start, (w.start + w.end) / 2):
            candidates.append(round((pos - start) % period, 6))
    best: tuple[float, int, int] | None = None
    for o in sorted(set(candidates)):
        if o >= period - 1e-9:
            o = 0.0
        frames = frame_count(end - start, fps, max_frames) if o == 0 else grid_count(end - start - o, fps, max_frames)
        hit = _covered(grid(start, o, fps, frames), windows)
        if best is None or hit > best[2]:
            best = (o, frames, hit)
    assert best is not None
    return best


def level_of(change: float, previous: int | None) -> int:
    """The level (0 still .. 3 busy) of a change value; within ``HYSTERESIS`` of a threshold the
    predecessor's level when it is one of the two levels that threshold separates."""
    level = sum(change >= t for t in LEVEL_THRESHOLDS)
    if previous is not None:
        for i, t in enumerate(LEVEL_THRESHOLDS):
            if t / HYSTERESIS <= change < t * HYSTERESIS and previous in (i, i + 1):
                return previous
    return level


def plan(probe: Probe, settings: Settings, activity: Sequence[ClipActivity] | None = None) -> list[ClipPlan]:
    """The clip plan for a probed video. ``activity``: one ``ClipActivity`` for each clip of
    ``clip_edges(probe.duration, settings.clip_seconds)`` (``media.activity.clip_activity``);
    ignored unless ``settings.adaptive_fps``."""
    s = settings
    edges = clip_edges(probe.duration, s.clip_seconds)
    adaptive = s.adaptive_fps and activity is not None
    if adaptive and len(activity) != len(edges):  # type: ignore[arg-type]
        raise ValueError(f"activity has {len(activity)} values for {len(edges)} clips")  # type: ignore[arg-type]
    shape = video_shape(probe, s, max(end - start for start, end in edges))
    ks = shape.rates()  # slowest first
    size_why = f"{shape.width}x{shape.height} for the whole video"
    if shape.lowered:
        size_why += f"; top rate lowered to {ladder_fps(shape.top_k):.4g} fps to fit the budget or the frame cap"
    levels: list[int] = []
    previous: int | None = None
    for a in activity if adaptive else []:  # type: ignore[union-attr]
        if a.change is None:
            levels.append(len(LEVEL_NAMES) - 1)
        else:
            previous = level_of(a.change, previous)
            levels.append(previous)
    windows = change_windows(edges, activity, levels) if adaptive else [[] for _ in edges]  # type: ignore[arg-type]
    clips: list[ClipPlan] = []
    for i, (start, end) in enumerate(edges):
        length = end - start
        budget = int(min(s.max_clip_tokens, s.token_budget_per_hour * length / 3600.0))
        a = activity[i] if adaptive else None  # type: ignore[index]
        extra: dict[str, Any] = {}
        if a is None:
            li, reasons = len(ks) - 1, ["adaptive fps off: top rate"]
        elif a.change is None:
            li, reasons = len(ks) - 1, ["no predicted frames (intra-only stream): top rate"]
            extra = a.to_dict()
        else:
            level = levels[i]
            li = max(0, len(ks) - len(LEVEL_NAMES) + level)
            reasons = [f"change {a.change:.4f} ({LEVEL_NAMES[level]})"]
            extra = {**a.to_dict(), "level": LEVEL_NAMES[level]}
        short = next((j for j, k in enumerate(ks) if (MIN_FRAMES - 1) / ladder_fps(k) < length), len(ks) - 1)
        if short > li:  # 4 frames at this rate would run past the clip's end
            li = short
            reasons.append(f"a {length:.3g} s clip needs {ladder_fps(ks[li]):.4g} fps for its {MIN_FRAMES} frames")
        chosen = li
        while True:
            fps = ladder_fps(ks[chosen])
            offset, frames, hit = best_offset(start, end, fps, windows[i], s.max_frames_per_clip)
            if hit == len(windows[i]) or chosen == len(ks) - 1:
                break
            chosen += 1
        k = ks[chosen]
        reasons.append(f"{fps:.4g} fps (4/{k}{', the floor' if chosen == 0 else ''})")
        if windows[i]:
            at = ", ".join(f"{w.change:.2f}" for w in windows[i])
            note = f"{hit} of {len(windows[i])} changes ({at} s) sampled after them"
            if chosen > li:
                note += f"; raised {chosen - li} level{'s' if chosen - li > 1 else ''} to cover them"
            if offset:
                note += f"; grid offset {offset:.3f} s"
            reasons.append(note)
        reasons.append(size_why)
        tokens = tokens_for(frames, shape.width, shape.height)
        if tokens > budget:
            reasons.append("over budget: 4 frames at the smallest size is the floor")
        clips.append(ClipPlan(
            index=i, start=start, end=end, fps=fps, frames=frames, width=shape.width, height=shape.height,
            tokens=tokens, budget=budget, activity=a.change if a is not None and a.change is not None else -1.0,
            why="; ".join(reasons), extra=extra, offset=offset,
        ))
    return clips


def sampling_plan(start: float, end: float, fps: float, probe: Probe, max_side: int = 1280, index: int = 0) -> ClipPlan:
    """A plain sampling of ``[start, end)`` at ``fps`` for analyzers other than the vision model
    (on-screen text): samples at ``start + j / fps``, frames no larger than ``max_side`` a side."""
    frames = max(1, math.ceil((end - start) * fps - 1e-9))
    scale = min(1.0, max_side / max(probe.width, probe.height))
    width = max(2, int(probe.width * scale) // 2 * 2)
    height = max(2, int(probe.height * scale) // 2 * 2)
    return ClipPlan(index=index, start=start, end=end, fps=fps, frames=frames, width=width, height=height,
                    tokens=0, budget=0, activity=1.0, why=f"sampling at {fps:g} fps")
