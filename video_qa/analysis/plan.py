"""A file's probe and clip plan, as ingest makes them (``videoqa plan`` shows the same)."""

from __future__ import annotations

from pathlib import Path

from video_qa.config import Settings
from video_qa.media import plan as make_plan
from video_qa.media import probe as run_probe
from video_qa.media.activity import clip_activity
from video_qa.media.plan import ClipPlan, clip_edges
from video_qa.media.probe import Probe


def probe_and_plan(path: str | Path, settings: Settings) -> tuple[Probe, list[ClipPlan]]:
    """ffprobe, then the clip plan: with ``VIDEOQA_ADAPTIVE_FPS``, each clip's change level from
    its demuxed packet sizes chooses its sampling rate."""
    p = run_probe(path)
    activity = clip_activity(path, p, clip_edges(p.duration, settings.clip_seconds)) if settings.adaptive_fps else None
    return p, make_plan(p, settings, activity)
