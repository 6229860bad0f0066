"""A hard cut between samples is given at its first frame's presentation time (analysis.cut_frames,
the one place a cut is timed), through the pipeline, by value, on a generated video (SQLite and
PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, select

from tests.factories.media import ENCODERS, ffmpeg
from tests.factories.pipeline import ingest, quiet_settings
from video_qa.db import unit_of_work
from video_qa.models import Clip, Moment, MomentKind


def cut_at_60(path: Path) -> Path:
    """smptebars 0-60 s, then rgbtestsrc 60-70 s: one hard cut at exactly 60.0 s."""
    ffmpeg("-f", "lavfi", "-i", "smptebars=size=320x240:rate=25:duration=60",
           "-f", "lavfi", "-i", "rgbtestsrc=size=320x240:rate=25:duration=10",
           "-filter_complex", "[0:v]format=yuv420p,setsar=1[a];[1:v]format=yuv420p,setsar=1[b];[a][b]concat=n=2:v=1[v]",
           "-map", "[v]", *ENCODERS["h264"], str(path))
    return path


def cuts_and_shots(engine: Engine, video_id: int) -> tuple[list[object], list[tuple[float, float, float, float]]]:
    """Each clip's scene cuts, and each visual moment's (start, end, start and end uncertainty)."""
    with unit_of_work(engine) as session:
        cuts = [c.scene_cuts for c in session.scalars(select(Clip).where(Clip.video_id == video_id)
                                                       .order_by(Clip.index))]
        shots = [(m.start, m.end, (m.meta or {})["start_uncertainty"], (m.meta or {})["end_uncertainty"])
                 for m in session.scalars(select(Moment).where(Moment.video_id == video_id,
                                                              Moment.kind == MomentKind.visual.value)
                                          .order_by(Moment.start))]
    return cuts, shots


def test_a_cut_at_60_s_sampled_at_59_and_61_s_starts_its_shot_at_60_s(tmp_path: Path, engine: Engine) -> None:
    path = cut_at_60(tmp_path / "cut60.mp4")
    # clips 0-35 and 35-70 s; samples every 2 s from each clip's start: 59 and 61 s lie around the cut
    settings = quiet_settings(tmp_path, data_dir=str(tmp_path / "data"), clip_seconds=35.0, ocr_fps=0.5,
                              visual_model="tiny", labels="off")
    video_id, _ = ingest(engine, settings, path)
    cuts, shots = cuts_and_shots(engine, video_id)
    # found between the samples at 59 and 61 s; the frames between them (analysis.cut_frames)
    # show the new picture first at 60.0 s, 0.04 s after the frame before
    assert cuts == [[], [[60.0, 0.04]]]
    assert shots == [(0.0, 60.0, 0.0, 0.04), (60.0, 70.0, 0.04, 0.0)]


def test_with_exact_cuts_off_the_cut_stays_at_the_sample_after_it(tmp_path: Path, engine: Engine) -> None:
    # VIDEOQA_EXACT_CUTS=false (for measuring what exact timing costs): no decode between the samples,
    # the cut at the sample after it (61 s), uncertain back to the sample before (59 s)
    path = cut_at_60(tmp_path / "cut60.mp4")
    settings = quiet_settings(tmp_path, data_dir=str(tmp_path / "data"), clip_seconds=35.0, ocr_fps=0.5,
                              visual_model="tiny", labels="off", exact_cuts=False)
    video_id, _ = ingest(engine, settings, path)
    cuts, shots = cuts_and_shots(engine, video_id)
    assert cuts == [[], [[61.0, 2.0]]]
    assert shots == [(0.0, 61.0, 0.0, 2.0), (61.0, 70.0, 2.0, 0.0)]
