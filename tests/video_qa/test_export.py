"""Exports: WebVTT and SRT cues at the stored times, JSON of every moment."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine

from tests.factories.rows import make_moment, make_video
from video_qa.db import unit_of_work
from video_qa.export import cue_time, export


def test_cue_times_by_value() -> None:
    assert cue_time(3723.4567) == "01:02:03.457"
    assert cue_time(0.0006, ",") == "00:00:00,001"
    assert cue_time(59.9999) == "00:01:00.000"


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
    assert [(m["kind"], m["start"]) for m in moments] == [("chapter", 0.0), ("speech", 1.25), ("speech", 3723.4567)]
