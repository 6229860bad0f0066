"""Scene cuts put on their frame among the video's own frames (``analysis.cut_frames``), on
generated videos whose cuts the demux pass does not see (a flat colour change; stills), by value."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from tests.factories.media import text_video
from tests.factories.pipeline import ingest, quiet_settings
from video_qa.analysis.cut_frames import exact_cuts
from video_qa.analysis.scenes import scene_cuts
from video_qa.db import unit_of_work
from video_qa.media import probe, read_frames
from video_qa.media.plan import sampling_plan
from video_qa.models import Clip, Moment, MomentKind


def test_a_cut_between_samples_is_given_at_its_first_frame(tmp_path: Path) -> None:
    path = text_video(tmp_path / "cuts.mp4", seconds=40, background="testsrc2", cuts=(13.0, 27.0))
    p = probe(path)
    clip = sampling_plan(0.0, 40.0, 0.5, p)
    frames = read_frames(path, clip, p)
    found = scene_cuts(frames.frames, frames.times)
    assert found == [[pytest.approx(14.0, abs=0.05), 2.0], [pytest.approx(28.0, abs=0.05), 2.0]]  # the samples after
    # each at the frame that first shows the new colour (25 fps: 0.04 s after the frame before it)
    assert exact_cuts(str(path), p, clip, found) == [[13.0, 0.04], [27.0, 0.04]]
    # a cut that reaches back before the clip (found against the frame before it) keeps its time
    late = sampling_plan(14.0, 40.0, 0.5, p)
    assert exact_cuts(str(path), p, late, [[14.0, 2.0]]) == [[14.0, 2.0]]


def test_a_flat_cut_at_60_s_sampled_at_59_and_61_s_starts_its_shot_and_chapter_at_60_s(tmp_path: Path,
                                                                                      engine: Engine) -> None:
    # the demux pass sees no cut in a flat colour change: before, the shot and chapter began at 61 s
    path = text_video(tmp_path / "cut60.mp4", seconds=70, cuts=(60.0,))
    settings = quiet_settings(tmp_path, data_dir=str(tmp_path / "data"), clip_seconds=60.0, ocr=True,
                              visual_model="tiny", labels="off")  # 70 s: clips 0-35 and 35-70, samples 35, 37, ...
    video_id, _ = ingest(engine, settings, path)
    with unit_of_work(engine) as session:
        cuts = [c.scene_cuts for c in session.scalars(select(Clip).where(Clip.video_id == video_id).order_by(Clip.index))]
        rows = session.scalars(select(Moment).where(Moment.video_id == video_id).order_by(Moment.kind, Moment.start))
        bounds = {(m.kind, m.start, m.end, (m.meta or {}).get("start_uncertainty", 0.0)) for m in rows
                  if m.kind in (MomentKind.visual.value, MomentKind.chapter.value)}
    assert cuts == [[], [[60.0, 0.04]]]
    assert ("visual", 60.0, 70.0, 0.04) in bounds and ("visual", 0.0, 60.0, 0.0) in bounds
    assert ("chapter", 60.0, 70.0, 0.04) in bounds
