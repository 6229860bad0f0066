"""Finalize from the stored clip parts: text stitched across clips, chapters titled from content,
the summary; read and written through the moments store, by value."""

from __future__ import annotations

from sqlalchemy import Engine, select

from tests.factories.rows import make_clip, make_video
from video_qa.analysis.finalize import finalize_content
from video_qa.analysis.speech import speech_moment
from video_qa.analyzers import Backends
from video_qa.db import unit_of_work
from video_qa.models import Moment
from video_qa.moments.store import finalize_inputs, replace_moments, store_text
from video_qa.moments.values import NewMoment
from video_qa.pipeline.clock import Clock


def piece(start: float, end: float, text: str, clip: int, first: float, last: float, open_start: bool,
          open_end: bool, **meta: object) -> NewMoment:
    corners = [[100, 300], [400, 300], [400, 330], [100, 330]]
    return NewMoment(start, end, text, {
        "box": corners, "frame_size": [640, 360], "samples": 2, "sample_interval": 2.0, "first_seen": first,
        "last_seen": last, "start_uncertainty": 2.0, "end_uncertainty": 1.0, "clips": [clip, clip],
        "open_start": open_start, "open_end": open_end, "height": 0.1, **meta})


def test_finalize_stitches_text_across_clips_and_titles_chapters_from_content(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        video = make_video(session, duration=90.0)
        c0 = make_clip(session, video, 0, start=0.0, end=45.0)
        c1 = make_clip(session, video, 1, start=45.0, end=90.0)
        replace_moments(session, video.id, c0.id, 0, "text", [
            piece(0.0, 29.0, "QUARTERLY PLAN", 0, 0.0, 28.0, True, False),
            piece(30.0, 44.5, "HIRING ROADMAP", 0, 30.0, 44.0, False, True),
            piece(42.0, 44.5, "INVOICE 2041 APPROVED", 0, 42.0, 44.0, False, True)])
        replace_moments(session, video.id, c1.id, 1, "text", [
            piece(45.0, 62.0, "HIRING ROADMAP", 1, 45.0, 61.0, True, False),
            piece(45.0, 48.0, "INVOICE 2041 APPROVED", 1, 45.0, 47.0, True, False),
            piece(63.0, 89.5, "OPEN QUESTIONS", 1, 63.0, 89.0, False, True)])
        replace_moments(session, video.id, c1.id, 1, "speech", [speech_moment(70.0, 72.0, "Any questions? Ask.", {})])
        c1.scene_cuts = [[80.0, 2.0]]  # what clip 1's hear_read part found
        video_id = video.id
    with unit_of_work(engine) as session:
        inputs = finalize_inputs(session, video_id)
    assert inputs.cuts == [[80.0, 2.0]] and inputs.duration == 90.0 and len(inputs.text) == 6
    done = finalize_content(inputs, Backends(None, None, None, None), Clock())
    assert [(c.start, c.end, c.text, c.meta["boundary"]) for c in done.chapters] == [
        (0.0, 30.0, "QUARTERLY PLAN", "start"), (30.0, 63.0, "HIRING ROADMAP", "slide"),
        (63.0, 80.0, "OPEN QUESTIONS", "slide"), (80.0, 90.0, "OPEN QUESTIONS", "cut")]  # no chapter across the cut
    with unit_of_work(engine) as session:
        assert store_text(session, video_id, inputs.clips, done.text) == 4
    with unit_of_work(engine) as session:
        rows = session.scalars(select(Moment).where(Moment.video_id == video_id, Moment.kind == "text")
                               .order_by(Moment.start, Moment.text)).all()
        assert [(m.clip_index, m.start, m.end, m.text) for m in rows] == [
            (0, 0.0, 29.0, "QUARTERLY PLAN"), (0, 30.0, 62.0, "HIRING ROADMAP"),
            (0, 42.0, 48.0, "INVOICE 2041 APPROVED"), (1, 63.0, 89.5, "OPEN QUESTIONS")]
        assert rows[2].meta["clips"] == [0, 1] and rows[2].meta["end_uncertainty"] == 1.0
    with unit_of_work(engine) as session:  # finalize again: the same rows
        again = finalize_content(finalize_inputs(session, video_id), Backends(None, None, None, None), Clock())
    assert [(m.start, m.end, m.text) for m in again.text] == [(m.start, m.end, m.text) for m in done.text]
    assert "Any questions?" in done.summary and "INVOICE 2041 APPROVED" in done.summary


def test_finalize_drops_changing_text_an_older_release_stored_as_moments(engine: Engine) -> None:
    """A clock stored by an older hear_read (``meta.changing``) is gone after finalize runs again;
    the caption beside it stays."""
    with unit_of_work(engine) as session:
        video = make_video(session, duration=40.0)
        c0 = make_clip(session, video, 0, start=0.0, end=40.0)
        replace_moments(session, video.id, c0.id, 0, "text", [
            piece(0.0, 40.0, "00:00:00 ... 00:00:39", 0, 0.0, 39.0, True, True, changing=True),
            piece(10.0, 20.0, "QUARTERLY BUDGET", 0, 10.0, 19.0, False, False)])
        video_id = video.id
    with unit_of_work(engine) as session:
        inputs = finalize_inputs(session, video_id)
    done = finalize_content(inputs, Backends(None, None, None, None), Clock())
    assert [(m.start, m.end, m.text) for m in done.text] == [(10.0, 20.0, "QUARTERLY BUDGET")]
    assert "00:00" not in done.summary and all("00:00" not in c.text for c in done.chapters)
    with unit_of_work(engine) as session:
        store_text(session, video_id, inputs.clips, done.text)
    with unit_of_work(engine) as session:
        assert session.scalars(select(Moment.text).where(Moment.video_id == video_id, Moment.kind == "text")).all() == [
            "QUARTERLY BUDGET"]
