"""What the pipeline's parts compute: model times made absolute by value, chapters, summaries."""

from __future__ import annotations

import numpy as np
import pytest

from sqlalchemy import Engine, select

from model.speech import Segment, Word
from model.vlm import ClipAnalysis, Event
from tests.factories.rows import make_clip, make_video
from video_qa.analyzers import Backends
from video_qa.db import unit_of_work
from video_qa.media.frames import ClipFrames
from video_qa.media.plan import ClipPlan
from video_qa.models import ItemPart, Moment, WorkItem
from video_qa.moments import NewMoment, replace_moments
from video_qa.stages import (
    Clock,
    finalize_content,
    finalize_inputs,
    see,
    speech_moment,
    speech_moments,
    store_text,
)


class FixedModel:
    name, is_test_model = "fixed", False

    def describe_clip(self, frames, times, fps):  # type: ignore[no-untyped-def]
        assert fps == 2.0 and times[0] == 30.5
        return ClipAnalysis("a crane", [Event(1.0, 2.5, "the crane turns")], raw="", model=self.name)


def test_event_times_are_the_first_frames_time_plus_the_models_seconds() -> None:
    frame = np.zeros((56, 56, 3), np.uint8)
    frames = ClipFrames(frames=[frame] * 4, times=[30.5, 31.0, 31.5, 32.0], asked=[30.5, 31.0, 31.5, 32.0], reader="pyav")
    # the first decoded frame is at 30.5, not at the clip's start
    plan = ClipPlan(index=1, start=30.0, end=32.5, fps=2.0, frames=4, width=56, height=56, tokens=8, budget=8,
                    activity=1.0, why="")
    result = see(frames, plan, Backends(FixedModel(), None, None, None), Clock())
    assert [(e.start, e.end, e.text) for e in result.events] == [(31.5, 33.0, "the crane turns")]
    # the model sees time in patches of two frames: at 2 fps, a second either way
    assert [(e.meta["start_uncertainty"], e.meta["end_uncertainty"]) for e in result.events] == [(1.0, 1.0)]
    assert result.caption == "a crane"


def test_clock_adds_up_per_stage() -> None:
    clock = Clock()
    clock.add("decode", 0.25)
    clock.add("decode", 0.5)
    with clock("store"):
        pass
    assert clock.seconds["decode"] == pytest.approx(0.75) and set(clock.rounded()) == {"decode", "store"}


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
        session.add(WorkItem(video_id=video.id, clip_index=1, part=ItemPart.hear_read.value, status="done",
                             stats={"cuts": [[80.0, 2.0]]}))
        video_id = video.id
    with unit_of_work(engine) as session:
        inputs = finalize_inputs(session, video_id)
    assert inputs.cuts == [[80.0, 2.0]] and inputs.duration == 90.0 and len(inputs.text) == 6
    done = finalize_content(inputs, Backends(None, None, None, None), Clock())
    assert [(c.start, c.end, c.text) for c in done.chapters] == [
        (0.0, 30.0, "QUARTERLY PLAN"), (30.0, 63.0, "HIRING ROADMAP"), (63.0, 90.0, "OPEN QUESTIONS")]
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


def test_a_whisper_segment_with_a_long_pause_is_two_speech_moments_with_their_own_times() -> None:
    words = (Word(4.59, 5.1, "Welcome", 0.9), Word(5.1, 6.8, " aboard.", 0.9),
             Word(30.2, 30.6, " Lock", 0.9), Word(30.6, 32.7, " it.", 0.8))
    joined = Segment(4.59, 32.71, " Welcome aboard. Lock it.", words, -0.3)
    one = Segment(40.0, 41.5, " Hello.", (Word(40.0, 41.5, " Hello.", 0.9),), -0.2)
    moments = speech_moments([joined, one])
    assert [(m.start, m.end, m.text) for m in moments] == [
        (4.59, 6.8, "Welcome aboard."), (30.2, 32.7, "Lock it."), (40.0, 41.5, "Hello.")]
    assert [w[2] for w in moments[1].meta["words"]] == [" Lock", " it."]
    assert all(m.meta["start_uncertainty"] == m.meta["end_uncertainty"] == 0.5 for m in moments)


def test_speech_is_heard_beside_the_text_and_its_times_stay_absolute(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """hear_read runs speech in a side thread while this thread reads text: both are busy at
    once, and the words keep the clip's absolute time."""
    import threading
    import time as clock

    from tests.factories.media import speech_and_caption_video
    from video_qa.config import load_settings
    from video_qa.media import probe
    from video_qa.media.plan import sampling_plan
    from video_qa.stages import hear_read

    path = speech_and_caption_video(tmp_path / "talk.mp4", seconds=12, speech=(7.0, "the budget is approved"),
                                    caption=(0.0, 12.0, "EXIT 12"))
    p = probe(path)
    spans: dict[str, tuple[float, float, int]] = {}
    hearing = threading.Event()

    class SlowSpeech:
        def transcribe(self, audio, offset=0.0):  # type: ignore[no-untyped-def]
            began = clock.perf_counter()
            hearing.set()
            clock.sleep(0.4)
            spans["hear"] = (began, clock.perf_counter(), threading.get_ident())
            assert audio.size == pytest.approx(6.0 * 16000, abs=1600)  # the clip's own audio
            words = (Word(offset + 1.0, offset + 1.4, "budget", 0.9),)
            return type("T", (), {"segments": [Segment(offset + 1.0, offset + 1.4, "budget", words, -0.2)]})()

    class SlowText:
        def read_frame(self, frame, region=None):  # type: ignore[no-untyped-def]
            assert hearing.wait(30)  # one after the other, this would wait for ever
            began = clock.perf_counter()
            clock.sleep(0.2)
            first = spans.get("read", (began, 0.0, 0))[0]
            spans["read"] = (first, clock.perf_counter(), threading.get_ident())
            return []

    settings = load_settings(ocr_fps=0.5)
    plan = ClipPlan(index=1, start=6.0, end=12.0, fps=0.5, frames=3, width=640, height=360, tokens=0, budget=0,
                    activity=1.0, why="")
    clock_ = Clock()
    result = hear_read(str(path), p, plan, settings, Backends(None, SlowSpeech(), SlowText(), None), clock_)
    (moment,) = result.speech
    assert (moment.start, moment.end) == pytest.approx((7.0, 7.4))  # offset + the model's seconds
    assert moment.meta["words"] == [[7.0, 7.4, "budget", 0.9]]
    hear, read = spans["hear"], spans["read"]
    assert hear[2] != read[2] and hear[0] < read[1] and read[0] < hear[1]  # two threads, overlapping
    assert result.reading["samples"] == len(sampling_plan(6.0, 12.0, 0.5, p).sample_times)
    assert {"decode", "hear", "read", "embed"} <= set(clock_.seconds)
