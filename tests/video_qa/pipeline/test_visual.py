"""Visual moments through the pipeline, by value, on generated media (SQLite and PostgreSQL).

The video: ffmpeg's testsrc 0-4 s, a photograph of a cat (scikit-image's ``chelsea``) 4-8 s,
rgbtestsrc 8-12 s, smptebars 12-16 s, joined with hard cuts; clips of 6 s (planned as three of 5.33 s), so the cat's shot
runs across the boundary at 5.33 s and is stitched at finalize.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import Engine, select

from tests.factories.media import ENCODERS, ffmpeg, text_video
from tests.factories.pipeline import ingest, quiet_settings, request
from video_qa.db import unit_of_work
from video_qa.models import ItemPart, Moment, MomentKind, VisualEmbedding, WorkItem

SHOTS = [(0.0, 4.0), (4.0, 8.0), (8.0, 12.0), (12.0, 16.0)]


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data folder for the module, so the visual models are exported once."""
    return tmp_path_factory.mktemp("visual-data")


def shots_video(path: Path) -> Path:
    if path.exists():
        return path
    skimage = pytest.importorskip("skimage.data", reason="scikit-image (its sample photographs) is not installed")
    cat = path.with_suffix(".cat.png")
    Image.fromarray(np.ascontiguousarray(skimage.chelsea()[:, :, :3])).resize((320, 240)).save(cat)
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=4",
           "-loop", "1", "-framerate", "25", "-t", "4", "-i", str(cat),
           "-f", "lavfi", "-i", "rgbtestsrc=size=320x240:rate=25:duration=4",
           "-f", "lavfi", "-i", "smptebars=size=320x240:rate=25:duration=4",
           "-filter_complex", "[0:v]format=yuv420p,setsar=1[a];[1:v]format=yuv420p,setsar=1,trim=duration=4[b];"
           "[2:v]format=yuv420p,setsar=1,trim=duration=4[c];[3:v]format=yuv420p,setsar=1[d];"
           "[a][b][c][d]concat=n=4:v=1[v]", "-map", "[v]", *ENCODERS["h264"], "-t", "16", str(path))
    return path


def _visual(engine: Engine, video_id: int) -> list[tuple[Moment, VisualEmbedding | None]]:
    with unit_of_work(engine) as session:
        rows = session.scalars(select(Moment).where(Moment.video_id == video_id, Moment.kind == MomentKind.visual.value)
                               .order_by(Moment.start)).all()
        out = [(m, m.image_vector) for m in rows]
        session.expunge_all()
        return out


def test_each_shot_is_one_visual_moment_cut_to_cut_with_labels_and_its_image_vector(
        tmp_path: Path, shared: Path, engine: Engine) -> None:
    path = shots_video(shared / "shots.mp4")
    settings = quiet_settings(shared, data_dir=str(shared / "data"), clip_seconds=6.0, ocr_fps=1.0,
                              visual_model="tiny", labels="auto", visual_max_shot=20.0)
    video_id, ran = ingest(engine, settings, path)
    assert {r.part for r in ran} == {"ingest", "hear_read", "finalize"}  # look is done by hear_read
    found = _visual(engine, video_id)
    assert len(found) == len(SHOTS)
    for (moment, vector), (start, end) in zip(found, SHOTS, strict=True):
        meta = moment.meta or {}
        assert abs(moment.start - start) <= meta["start_uncertainty"] + 1e-3, (moment.start, start, meta)
        assert abs(moment.end - end) <= meta["end_uncertainty"] + 1e-3, (moment.end, end, meta)
        assert meta["start_uncertainty"] <= 1.0 and meta["end_uncertainty"] <= 1.0
        assert moment.start <= meta["keyframe"] <= moment.end
        assert moment.text == "; ".join(label["label"] for label in meta["labels"])
        assert all(isinstance(label["score"], float) and 0 < label["score"] <= 1 for label in meta["labels"])
        assert vector is not None and vector.dim == 32 and len(vector.embedding) == 32 * 4
        assert vector.model.startswith("tiny random-weight test model") and meta["visual_model"] == vector.model
        assert abs(float(np.linalg.norm(np.frombuffer(vector.embedding, np.float32))) - 1.0) < 1e-4
    cat = found[1][0]
    assert cat.meta is not None and cat.meta["clips"] == [0, 1]  # stitched across the clip boundary at 5.33 s
    groups = {label["label"]: label["score"] for label in cat.meta["labels"] if label["vocab"] == "imagenet-group"}
    assert groups.get("cat", 0.0) >= 0.5, cat.meta["labels"]
    assert "cat" in cat.text
    assert all("cat" not in m.text.split("; ") for m, _ in found if m is not cat)


def test_reingest_adds_visual_moments_without_redoing_speech_and_text(tmp_path: Path, shared: Path,
                                                                      engine: Engine) -> None:
    path = text_video(tmp_path / "slide.mp4", seconds=12, cuts=(3.0,),
                      items=((0, 12, "HARBOUR PILOT", "(w-tw)/2", "100", 40),))
    off = quiet_settings(tmp_path, data_dir=str(shared / "data"), clip_seconds=6.0, ocr=True, visual_model="off")
    video_id, ran = ingest(engine, off, path)
    assert "look" not in {r.part for r in ran}
    with unit_of_work(engine) as session:
        before = {(m.id, m.kind, m.start, m.end, m.text) for m in session.scalars(
            select(Moment).where(Moment.video_id == video_id, Moment.kind == MomentKind.text.value))}
        heard = {i.clip_index: i.finished_at for i in session.scalars(
            select(WorkItem).where(WorkItem.video_id == video_id, WorkItem.part == ItemPart.hear_read.value))}
    assert before and any("HARBOUR" in text for *_, text in before)
    assert _visual(engine, video_id) == []
    on = quiet_settings(tmp_path, data_dir=str(shared / "data"), clip_seconds=6.0, ocr=True, visual_model="tiny")
    ran = request(engine, on, video_id)
    assert sorted((r.clip_index, r.part) for r in ran if r.clip_index >= 0) == [(0, "look"), (1, "look")]
    with unit_of_work(engine) as session:
        after = {(m.id, m.kind, m.start, m.end, m.text) for m in session.scalars(
            select(Moment).where(Moment.video_id == video_id, Moment.kind == MomentKind.text.value))}
        assert {i.clip_index: i.finished_at for i in session.scalars(
            select(WorkItem).where(WorkItem.video_id == video_id, WorkItem.part == ItemPart.hear_read.value))} == heard
    assert after == before
    found = _visual(engine, video_id)
    assert len(found) == 2 and found[0][0].start == 0.0 and found[1][0].end == 12.0
    second = found[1][0].meta or {}
    assert abs(found[1][0].start - 3.0) <= second["start_uncertainty"] and found[0][0].end == found[1][0].start
    assert second["clips"] == [0, 1]  # the shot after the cut goes on in clip 1: stitched at finalize
    assert all(v is not None and v.dim == 32 for _, v in found)
    ran = request(engine, on, video_id)  # nothing left to do
    assert [r.part for r in ran] == ["ingest"]
