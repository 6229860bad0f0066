"""The dynamic-fps clip plan: timeline -> clips, each with its sample rate, frame count and size.

Policy (shared DESIGN.md, "Dynamic fps"):

* Clips: the video is cut into ``n = ceil(duration / clip_seconds)`` clips of equal length, so no
  clip is longer than ``clip_seconds`` (default 60 s) and there is no short tail clip. Boundaries
  are ``duration * i / n``; neighbours share the exact same float, so clips cover the timeline
  with no gap and no overlap.
* Budget: ``token_budget_per_hour * duration / 3600`` visual tokens for the whole video, shared
  among clips in proportion to ``length * activity`` and capped at ``max_clip_tokens`` (about 24k,
  the range the model's grounding was evaluated in).
* Rate: from the ladder ``4 / k`` (4, 2, 1.33, 1, 0.8, 0.67, ... fps) so that ``4 / fps`` and
  hence the model's time ids stay whole. The target is ``base_fps * activity``; the highest ladder
  rate not above the target whose frames fit the budget at the smallest frame size is taken.
* Frames: ``round(length * fps)`` made even, at least 4, at most ``max_frames_per_clip``; sample
  ``j`` is at ``start + j / fps``.
* Size: the largest frame of the video's aspect ratio, sides multiples of 28, pixels within
  ``[min_pixels, max_pixels]``, that keeps ``frames / 2 * (h / 28) * (w / 28)`` tokens in budget.
* Activity (``adaptive_fps``): compressed video bytes per second of each clip relative to the
  video's mean (encoders spend bits on change; a still scene costs almost nothing, a scene cut
  costs a keyframe), square-rooted and clamped to [0.25, 2]. Without it every clip has activity 1.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from video_qa.config import Settings
from video_qa.media.probe import Probe

PATCH = 28  # 14-pixel patches merged 2x2
TEMPORAL_PATCH = 2
MIN_FRAMES = 4
MAX_LADDER_FPS = 4.0
ACTIVITY_RANGE = (0.25, 2.0)


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
    activity: float
    why: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def length(self) -> float:
        return self.end - self.start

    @property
    def sample_times(self) -> list[float]:
        """Asked times in seconds from the stream start: ``start + j / fps``."""
        return [self.start + j / self.fps for j in range(self.frames)]

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


def normalise_activity(raw: list[float]) -> list[float]:
    """Raw per-second change scores -> activity factors with mean-relative square root, clamped."""
    positive = [r for r in raw if r > 0]
    if not positive:
        return [1.0] * len(raw)
    mean = sum(positive) / len(positive)
    low, high = ACTIVITY_RANGE
    return [min(high, max(low, math.sqrt(r / mean))) if r > 0 else low for r in raw]


def _fit(length: float, budget: int, target_fps: float, probe: Probe, s: Settings) -> tuple[float, int, int, int, str]:
    """(fps, frames, width, height, why) for one clip."""
    start_k = max(1, math.ceil(MAX_LADDER_FPS / target_fps - 1e-9))
    min_w, min_h = frame_size(probe.width, probe.height, s.min_pixels, s.min_pixels, s.max_pixels)
    k = start_k
    while True:
        fps = ladder_fps(k)
        frames = frame_count(length, fps, s.max_frames_per_clip)
        if length * fps > s.max_frames_per_clip + 1:  # too many frames at this rate: slower
            k += 1
            continue
        floor_tokens = tokens_for(frames, min_w, min_h)
        if floor_tokens <= budget or frames == MIN_FRAMES:
            break
        k += 1
    groups = math.ceil(frames / TEMPORAL_PATCH)
    per_group = budget / groups
    width, height = frame_size(probe.width, probe.height, per_group * PATCH * PATCH, s.min_pixels, s.max_pixels)
    reasons = [f"target {target_fps:.3g} fps -> {fps:.4g} fps (4/{k})"]
    if k > start_k:
        reasons.append("rate lowered to fit the budget or the frame cap")
    if tokens_for(frames, width, height) > budget:
        reasons.append("over budget: 4 frames at the smallest size is the floor")
    elif (width, height) == frame_size(probe.width, probe.height, s.max_pixels, s.min_pixels, s.max_pixels):
        reasons.append("largest frame size")
    return fps, frames, width, height, "; ".join(reasons)


def plan(probe: Probe, settings: Settings, activity: list[float] | None = None) -> list[ClipPlan]:
    """The clip plan for a probed video. ``activity``: raw change per second for each clip of
    ``clip_edges(probe.duration, settings.clip_seconds)`` (see ``media.activity``); ignored
    unless ``settings.adaptive_fps``."""
    edges = clip_edges(probe.duration, settings.clip_seconds)
    if settings.adaptive_fps and activity is not None:
        if len(activity) != len(edges):
            raise ValueError(f"activity has {len(activity)} values for {len(edges)} clips")
        factors = normalise_activity(activity)
    else:
        factors = [1.0] * len(edges)
    total = settings.token_budget_per_hour * probe.duration / 3600.0
    weights = [(end - start) * a for (start, end), a in zip(edges, factors)]
    weight_sum = sum(weights) or 1.0
    clips = []
    for i, ((start, end), a, w) in enumerate(zip(edges, factors, weights)):
        budget = int(min(settings.max_clip_tokens, total * w / weight_sum))
        fps, frames, width, height, why = _fit(end - start, budget, settings.base_fps * a, probe, settings)
        clips.append(
            ClipPlan(
                index=i, start=start, end=end, fps=fps, frames=frames, width=width, height=height,
                tokens=tokens_for(frames, width, height), budget=budget, activity=round(a, 4),
                why=f"activity {a:.2f}, budget {budget} tokens; {why}",
            )
        )
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
