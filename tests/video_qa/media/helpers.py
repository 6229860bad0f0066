from __future__ import annotations

from video_qa.media.plan import ClipPlan, frame_count, frame_size, tokens_for
from video_qa.media.probe import Probe


def sample_clip(p: Probe, start: float, end: float, fps: float, index: int = 0) -> ClipPlan:
    """A clip sampled at ``fps`` at a small size, as the planner would describe it."""
    frames = frame_count(end - start, fps, 768)
    width, height = frame_size(p.width, p.height, 128 * 28 * 28, 128 * 28 * 28, 768 * 28 * 28)
    return ClipPlan(index=index, start=start, end=end, fps=fps, frames=frames, width=width, height=height,
                    tokens=tokens_for(frames, width, height), budget=0, activity=1.0, why="test")
