"""Exports: WebVTT and SRT cues at the stored times, JSON of every moment."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine

from tests.factories.rows import make_moment, make_video
from video_qa.db import unit_of_work
from video_qa import export as export_module
from video_qa import timecode
from video_qa.export import export, to_srt, to_vtt


def test_cues_are_written_by_the_one_time_formatter() -> None:
    assert export_module.cue_time is timecode.cue_time  # no second copy of the arithmetic


def test_cue_times_by_value() -> None:
    moments = [(0.0, 0.0, "start"), (59.95, 3599.9996, "carry to the hour"), (3723.4567, 3725.0, "later")]
    assert to_vtt(moments).splitlines() == [
        "WEBVTT", "",
        "1", "00:00:00.000 --> 00:00:00.001", "start", "",  # a cue shorter than a millisecond is given one
        "2", "00:00:59.950 --> 01:00:00.000", "carry to the hour", "",
        "3", "01:02:03.457 --> 01:02:05.000", "later"]
    assert to_srt(moments).splitlines()[4:6] == ["2", "00:00:59,950 --> 01:00:00,000"]


def test_transcript_and_chapters(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        video = make_video(session, title="talk")
        make_moment(session, video, kind="speech", seq=0, start=1.25, end=3.5, text="hello --> there\n\nfriend")
        make_moment(session, video, kind="speech", seq=1, start=3723.4567, end=3725.0, text="later")
        make_moment(session, video, kind="chapter", seq=0, start=0.0, end=60.0, text="Opening")
        vid = video.id
    with unit_of_work(engine) as session:
        vtt, media = export(session, vid, "transcript.vtt")
        srt, _ = export(session, vid, "transcript.srt")
        chapters, _ = export(session, vid, "chapters.vtt")
        body, _ = export(session, vid, "moments.json")
        with pytest.raises(ValueError):
            export(session, vid, "transcript.doc")
        with pytest.raises(LookupError):
            export(session, vid + 1000, "moments.json")
    assert media.startswith("text/vtt")
    assert vtt.splitlines()[:5] == ["WEBVTT", "", "1", "00:00:01.250 --> 00:00:03.500", "hello -> there friend"]
    assert "01:02:03.457 --> 01:02:05.000" in vtt
    assert srt.splitlines()[:3] == ["1", "00:00:01,250 --> 00:00:03,500", "hello -> there friend"]
    assert "00:00:00.000 --> 00:01:00.000\nOpening" in chapters
    moments = json.loads(body)["moments"]
    assert [(m["kind"], m["start"]) for m in moments] == [("chapter", 0.0), ("speech", 1.25), ("speech", 3723.457)]


def test_moments_json_times_are_to_the_millisecond(engine: Engine) -> None:
    """A stored float such as 59.629999999999995 is exported as 59.63 (issue 28), like the cues."""
    with unit_of_work(engine) as session:
        video = make_video(session, title="talk", duration=75.00049999999)
        make_moment(session, video, kind="visual", start=59.629999999999995, end=61.2000000001, text="",
                    meta={"start_uncertainty": 0.04, "end_uncertainty": 0.0})
        vid = video.id
    with unit_of_work(engine) as session:
        content, _ = export(session, vid, "moments.json")
    body = json.loads(content)
    moment, = body["moments"]
    assert (moment["start"], moment["end"], moment["start_uncertainty"]) == (59.63, 61.2, 0.04)
    assert body["video"]["duration"] == 75.0
    assert '"start": 59.63,' in content and "59.6299" not in content
