"""The moments store: a part's results written once however often it runs, scene cuts and
captions on the clip rows, and finalize's read of them; by value, on both databases."""

from __future__ import annotations

import numpy as np
from sqlalchemy import Engine, select

from tests.factories.rows import make_clip, make_video
from video_qa.db import unit_of_work
from video_qa.models import Clip, Moment, Video
from video_qa.moments.store import finalize_inputs, store_finalized, store_heard_read, store_seen
from video_qa.moments.values import NewMoment


def _rows(session, video_id: int) -> list[tuple[object, ...]]:  # type: ignore[no-untyped-def]
    return [(m.kind, m.clip_index, m.seq, m.start, m.end, m.text) for m in session.scalars(
        select(Moment).where(Moment.video_id == video_id).order_by(Moment.kind, Moment.clip_index, Moment.seq))]


def test_a_hear_read_part_stores_moments_cuts_and_notes_once_and_finalize_reads_them_back(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        video = make_video(session, duration=90.0)
        c0 = make_clip(session, video, 0, start=0.0, end=45.0)
        c1 = make_clip(session, video, 1, start=45.0, end=90.0, caption="Cranes unload a ship.")
        speech = [NewMoment(50.0, 52.0, "welcome aboard", {"start_uncertainty": 0.5}, np.arange(4, dtype=np.float32))]
        text = [NewMoment(46.0, 60.0, "GATE 4", {"clips": [1, 1]})]
        for _ in range(2):  # a part that runs twice leaves what one run leaves
            assert store_heard_read(session, video.id, c1.id, 1, speech, text, [[70.0, 2.0]], ["reader: pyav"]) == (1, 1)
        assert store_heard_read(session, video.id, c0.id, 0, [], [], [[30.0, 2.0], [20.0, 2.0]], []) == (0, 0)
        video_id, ids = video.id, {0: c0.id, 1: c1.id}
    with unit_of_work(engine) as session:
        assert _rows(session, video_id) == [("speech", 1, 0, 50.0, 52.0, "welcome aboard"),
                                            ("text", 1, 0, 46.0, 60.0, "GATE 4")]
        assert session.get(Clip, ids[1]).scene_cuts == [[70.0, 2.0]]
        assert session.get(Clip, ids[1]).notes == ["reader: pyav"]
        inputs = finalize_inputs(session, video_id)
    assert inputs.duration == 90.0 and inputs.clips == ids
    assert inputs.cuts == [[20.0, 2.0], [30.0, 2.0], [70.0, 2.0]]  # every clip's, in time order
    assert [(m.start, m.end, m.text, m.meta) for m in inputs.speech] == [
        (50.0, 52.0, "welcome aboard", {"start_uncertainty": 0.5})]
    assert inputs.speech[0].embedding is not None and inputs.speech[0].embedding.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert [(m.start, m.end, m.text, m.embedding) for m in inputs.text] == [(46.0, 60.0, "GATE 4", None)]
    assert inputs.captions == [(45.0, 90.0, "Cranes unload a ship.")]


def test_see_and_finalize_results_are_stored_with_the_clip_and_the_video(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        video = make_video(session, duration=60.0)
        clip = make_clip(session, video, 0, start=0.0, end=60.0)
        events = [NewMoment(31.5, 33.0, "the crane turns"), NewMoment(10.0, 12.0, "a ship docks")]
        assert store_seen(session, video.id, clip.id, 0, events, "a crane", "fixed", ["decoded 4 frames"]) == 2
        assert store_seen(session, video.id, clip.id, 0, events, "a crane", "fixed", ["decoded 4 frames"]) == 2
        text = [NewMoment(0.0, 29.0, "QUARTERLY PLAN", {"clips": [0, 0]})]
        chapters = [NewMoment(0.0, 60.0, "QUARTERLY PLAN", {"source": "text"})]
        assert store_finalized(session, video, {0: clip.id}, text, chapters, "A plan.") == 1
        video_id, clip_id = video.id, clip.id
    with unit_of_work(engine) as session:
        assert _rows(session, video_id) == [
            ("chapter", -1, 0, 0.0, 60.0, "QUARTERLY PLAN"), ("event", 0, 0, 10.0, 12.0, "a ship docks"),
            ("event", 0, 1, 31.5, 33.0, "the crane turns"), ("text", 0, 0, 0.0, 29.0, "QUARTERLY PLAN")]
        row = session.get(Clip, clip_id)
        assert (row.caption, row.model, row.notes) == ("a crane", "fixed", ["decoded 4 frames"])
        assert session.get(Video, video_id).summary == "A plan."
