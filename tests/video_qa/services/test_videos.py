"""A video as every client shows it, its moments in time order, and the changed-on-disk check."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.factories.rows import make_clip, make_job, make_moment, make_video
from video_qa.db import unit_of_work
from video_qa.services.videos import VideoNotFound, list_videos, open_video, video_moments


def test_changed_on_disk_compares_size_and_time_and_a_missing_file_counts(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "a.mp4"
    path.write_bytes(b"\0" * 1000)
    stat = path.stat()
    with unit_of_work(engine) as session:
        recorded = make_video(session, path=str(path), size=1000, file_mtime=stat.st_mtime, status="ready").id
        size_only = make_video(session, path=str(path), size=1000, file_mtime=None, status="failed").id  # never analysed
        gone = make_video(session, path=str(tmp_path / "gone.mp4"), size=1000, status="ready").id
        busy = make_video(session, path=str(tmp_path / "gone.mp4"), size=1000, status="processing").id
    with unit_of_work(engine) as session:
        assert [open_video(session, i)["changed_on_disk"] for i in (recorded, size_only, gone)] == [False, False, True]
        assert [v["changed_on_disk"] for v in list_videos(session)] == [None, None, None, None]
        # being analysed: that analysis reads the file as it is now, so nothing to re-analyse
        assert open_video(session, busy)["changed_on_disk"] is False
    os.utime(path, (stat.st_atime, stat.st_mtime + 2))
    with unit_of_work(engine) as session:
        assert [open_video(session, i)["changed_on_disk"] for i in (recorded, size_only)] == [True, False]


def test_moments_in_time_order_and_unknown_videos(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        video = make_video(session)
        clip = make_clip(session, video, start=0.0, end=60.0)
        make_moment(session, video, clip, kind="text", start=12.5, end=14.0, text="EXIT 12")
        make_moment(session, video, clip, kind="speech", start=3.25, end=5.0, text="hello")
        make_moment(session, video, None, kind="chapter", start=0.0, end=60.0, text="All")
        video_id = video.id
    with unit_of_work(engine) as session:
        assert [(m["start"], m["kind"]) for m in video_moments(session, video_id)] == [
            (0.0, "chapter"), (3.25, "speech"), (12.5, "text")]
        assert [m["text"] for m in video_moments(session, video_id, "speech")] == ["hello"]
        with pytest.raises(VideoNotFound, match="^no video 999$"):
            video_moments(session, 999)


def test_a_library_page_shows_each_videos_own_stage_and_progress(engine: Engine) -> None:
    from video_qa.models import WorkItem

    with unit_of_work(engine) as session:
        busy = make_video(session, status="processing")
        make_job(session, busy, stage="queued")
        make_job(session, busy, stage="analyzing")  # the latest job's stage is the one shown
        for index, status in enumerate(("done", "done", "running", "queued")):
            session.add(WorkItem(video_id=busy.id, clip_index=index, part="hear_read", status=status))
        ready = make_video(session, status="ready")
        new = make_video(session)
        ids = (busy.id, ready.id, new.id)
    with unit_of_work(engine) as session:
        shown = {v["id"]: (v["stage"], v["progress"]) for v in list_videos(session)}
        assert [shown[i] for i in ids] == [("analyzing", 0.5), ("registered", 1.0), ("registered", 0.0)]
        # the same as one video opened on its own
        assert [(open_video(session, i)["stage"], open_video(session, i)["progress"]) for i in ids] == [shown[i] for i in ids]


def test_the_library_is_listed_newest_first_for_every_client(engine: Engine) -> None:
    """One order for the web app, the API and ``videoqa videos``: the newest video first."""
    with unit_of_work(engine) as session:
        ids = [make_video(session, title=name).id for name in ("first", "second", "third")]
    with unit_of_work(engine) as session:
        assert [v["id"] for v in list_videos(session)] == ids[::-1]
        assert [v["title"] for v in list_videos(session, offset=1, limit=1)] == ["second"]


def test_a_half_downloaded_file_is_ready_and_marked_truncated_with_its_readable_length(
        engine: Engine, tmp_path: Path) -> None:
    """An MP4 with its index first, cut in half (``head -c``) as a stopped download leaves it: the
    analysis keeps what is there, the duration shown is the readable one, and the video says it is
    truncated, by how much, without a failure."""
    import subprocess

    from tests.factories.media import index_video
    from tests.factories.pipeline import ingest, quiet_settings

    whole = index_video(tmp_path / "whole.mp4", rate="25", seconds=20, gop=25, extra=("-movflags", "+faststart"))
    cut = tmp_path / "archive" / "download.mp4"
    cut.parent.mkdir()
    with cut.open("wb") as out:
        subprocess.run(["head", "-c", str(whole.stat().st_size // 2), str(whole)], stdout=out, check=True)
    settings = quiet_settings(tmp_path / "archive", data_dir=tmp_path / "data")
    video_id, _ = ingest(engine, settings, cut)
    with unit_of_work(engine) as session:
        shown = open_video(session, video_id)
        listed, = list_videos(session)
    assert (shown["status"], shown["error"], shown["truncated"]) == ("ready", None, True)
    assert 4.0 < shown["duration"] < 16.0
    assert shown["notice"] == f"truncated: {round(shown['duration'], 1):g} s of 20 s readable"
    assert (listed["truncated"], listed["notice"]) == (True, shown["notice"])
    whole_copy = tmp_path / "archive" / "whole.mp4"
    whole_copy.write_bytes(whole.read_bytes())
    whole_id, _ = ingest(engine, settings, whole_copy)
    with unit_of_work(engine) as session:
        assert [open_video(session, whole_id)[k] for k in ("status", "duration", "truncated", "notice")] == \
            ["ready", 20.0, False, None]
