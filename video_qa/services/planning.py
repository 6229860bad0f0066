"""Probe and plan a file exactly as ingest does (``video_qa.analysis.plan.probe_and_plan``: the activity
measure included when VIDEOQA_ADAPTIVE_FPS is on), and describe one of its clips with the
vision-language model: what ``videoqa plan`` and ``videoqa describe`` show is what ingest would do."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from model.protocols import VisionLanguageModel
from video_qa.config import Settings
from video_qa.media import read_frames
from video_qa.media.plan import ClipPlan
from video_qa.media.probe import Probe
from video_qa.analysis.plan import probe_and_plan


class ClipOutOfRange(ValueError):
    """A clip index the file's plan does not have."""


@dataclass
class ClipDescription:
    """One clip's caption and events (absolute times, seconds from the stream's start)."""

    clip: ClipPlan
    model: str
    test_model: bool
    caption: str
    events: list[dict[str, Any]]
    raw: str
    notes: list[str] = field(default_factory=list)
    frames: int = 0


def plan_file(path: str | Path, settings: Settings) -> tuple[Probe, list[ClipPlan]]:
    """The probe and the clip plan ingest would make for ``path`` under ``settings``."""
    return probe_and_plan(path, settings)


def describe_clip(path: str | Path, settings: Settings, clip_index: int, vlm: VisionLanguageModel) -> ClipDescription:
    """Plan the file as ingest does, read clip ``clip_index``'s exact frames, and let ``vlm`` (a
    ``model.vlm`` model) describe them. ``ClipOutOfRange`` for a clip the plan lacks; a clip with no
    decodable frame is returned with no events and a note."""
    p, clips = plan_file(path, settings)
    if not 0 <= clip_index < len(clips):
        raise ClipOutOfRange(f"{path} has clips 0..{len(clips) - 1}")
    clip = clips[clip_index]
    frames = read_frames(path, clip, p, prefer=settings.frame_reader)
    if not frames.frames:
        return ClipDescription(clip, getattr(vlm, "name", ""), bool(vlm.is_test_model), "", [], "",
                               [*frames.notes, f"no decodable frame in clip {clip.index}"], 0)
    result = vlm.describe_clip(frames.images, frames.times, clip.fps)
    origin = frames.times[0]
    events = [{"start": origin + e.start, "end": origin + e.end, "text": e.text} for e in result.events]
    return ClipDescription(clip, result.model, bool(vlm.is_test_model), result.caption, events, result.raw,
                           [*result.notes, *frames.notes], len(frames.frames))
