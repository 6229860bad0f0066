"""Register-and-queue, the one intake every client uses: rows committed before anything is sent,
each content queued once, refusals named by the path given, uploads stored under a safe name."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from tests.factories.media import silent_video
from video_qa.config import load_settings
from video_qa.db import unit_of_work
from video_qa.models import Video, WorkItem
from video_qa.pipeline import ItemRef
from video_qa.registry import RegistrationRefused
from video_qa.services import intake
from video_qa.services.videos import VideoNotFound


def test_register_paths_queues_each_content_once_after_commit(engine: Engine, tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    (archive / "talks").mkdir(parents=True)
    first = silent_video(archive / "talks" / "a.mp4", seconds=2)
    shutil.copy(first, archive / "talks" / "copy of a.mp4")
    settings = load_settings(archive_roots=str(archive), data_dir=tmp_path / "data")
    seen: list[tuple[list[ItemRef], list[str]]] = []

    def send(refs: list[ItemRef]) -> None:  # what a worker would find when the message arrives
        with unit_of_work(engine) as session:
            seen.append((refs, session.scalars(select(WorkItem.status)).all()))

    done = intake.register_paths(engine, settings, send, [archive / "talks", tmp_path / "elsewhere.mp4"])
    assert len(done.video_ids) == 1 and done.duplicates == set()
    assert seen == [([ItemRef(done.video_ids[0], -1, "ingest")], ["queued"])]
    assert [(r.path, r.outside) for r in done.refused] == [(str(tmp_path / "elsewhere.mp4"), True)]


def test_an_upload_is_stored_under_a_safe_name_and_a_duplicate_leaves_no_copy(engine: Engine, tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data")
    video = silent_video(tmp_path / "clip.mp4", seconds=2)
    sent: list[list[ItemRef]] = []
    target = intake.upload_target(settings, "../../etc/My clip!.MP4")
    assert target.parent == settings.resolved_media_dir and target.name.endswith("_My_clip_.mp4")
    shutil.copy(video, target)
    reg = intake.accept_upload(engine, settings, sent.append, target, "../../etc/My clip!.MP4")
    with unit_of_work(engine) as session:
        assert session.get(Video, reg.video_id).title == "My clip!"
    again = tmp_path / "gradio" / "same.mp4"
    again.parent.mkdir()
    shutil.copy(video, again)
    dup = intake.store_upload(engine, settings, sent.append, again, "same.mp4")
    assert dup.duplicate and dup.video_id == reg.video_id
    assert list(settings.resolved_media_dir.iterdir()) == [target] and not again.exists()
    notes = tmp_path / "gradio" / "notes.mp4"
    notes.write_text("minutes\n" * 100)
    with pytest.raises(intake.UploadRefused, match=r"^notes\.mp4: not a media file"):
        intake.store_upload(engine, settings, sent.append, notes, "notes.mp4")
    assert list(settings.resolved_media_dir.iterdir()) == [target]
    assert len(sent) == 2


def test_register_path_refuses_by_the_given_path_and_retry_needs_a_video(engine: Engine, tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    (archive / "folder").mkdir(parents=True)
    settings = load_settings(archive_roots=str(archive), data_dir=tmp_path / "data")
    with pytest.raises(RegistrationRefused) as refused:
        intake.register_path(engine, settings, lambda refs: None, str(archive / "folder"))
    assert (str(refused.value), refused.value.outside) == (f"{archive / 'folder'}: not a regular file", False)
    with pytest.raises(VideoNotFound, match="^no video 999$"):
        intake.retry(engine, settings, lambda refs: None, 999)


CUT = "not a complete video file (the end is missing); re-upload or re-download it"


def cut_video(path: Path, seconds: float = 4) -> Path:
    """A video whose end is missing: an MP4 with its index (moov) at the end, cut in half."""
    whole = silent_video(path.with_name("whole-" + path.name), seconds=seconds)
    path.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    whole.unlink()
    return path


def test_a_broken_file_is_the_same_failed_video_through_every_door(engine: Engine, tmp_path: Path,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    """The API's upload, the web app's upload and ``videoqa ingest``: each registers a broken file
    as a failed video, nothing queued, with one reason in the user's words that names the file as
    the user knows it; ffprobe's own words go to the log only."""
    from video_qa.services.videos import open_video

    archive = tmp_path / "archive"
    archive.mkdir()
    settings = load_settings(archive_roots=str(archive), data_dir=tmp_path / "data")
    sent: list[list[ItemRef]] = []
    api = intake.upload_target(settings, "Holiday part 1.mp4")
    cut_video(api, seconds=4)
    by_api = intake.accept_upload(engine, settings, sent.append, api, "Holiday part 1.mp4")
    gradio = tmp_path / "gradio" / "Holiday part 2.mp4"
    gradio.parent.mkdir()
    cut_video(gradio, seconds=5)
    by_ui = intake.store_upload(engine, settings, sent.append, gradio, "Holiday part 2.mp4")
    by_cli = intake.register_paths(engine, settings, sent.append, [cut_video(archive / "part 3.mp4", seconds=6)])
    assert sent == [] and by_cli.refused == [] and len(by_cli.video_ids) == 1
    reasons = {"Holiday part 1.mp4": by_api.video_id, "Holiday part 2.mp4": by_ui.video_id,
               "part 3.mp4": by_cli.video_ids[0]}
    with unit_of_work(engine) as session:
        for name, video_id in reasons.items():
            shown = open_video(session, video_id)
            assert (shown["status"], shown["error"]) == ("failed", f"{name}: {CUT}"), name
            assert Path(session.get(Video, video_id).path).is_file()  # kept: Retry looks at it again
        assert session.scalars(select(WorkItem)).all() == []
    assert "moov atom not found" in caplog.text  # for operators


def test_retry_of_an_unchanged_broken_file_says_so_at_once_and_queues_nothing(engine: Engine, tmp_path: Path) -> None:
    from video_qa.services.videos import open_video

    archive = tmp_path / "archive"
    archive.mkdir()
    settings = load_settings(archive_roots=str(archive), data_dir=tmp_path / "data")
    sent: list[list[ItemRef]] = []
    path = cut_video(archive / "talk.mp4")
    video_id, = intake.register_paths(engine, settings, sent.append, [path]).video_ids
    assert intake.retry(engine, settings, sent.append, video_id) is False  # nothing queued
    with unit_of_work(engine) as session:
        assert (open_video(session, video_id)["status"], open_video(session, video_id)["error"]) == \
            ("failed", f"talk.mp4: {CUT}")
        assert session.scalars(select(WorkItem)).all() == []
    assert sent == []
    silent_video(tmp_path / "whole.mp4", seconds=4)
    path.write_bytes((tmp_path / "whole.mp4").read_bytes())  # downloaded again, whole
    assert intake.retry(engine, settings, sent.append, video_id) is True
    assert sent == [[ItemRef(video_id, -1, "ingest")]]
    with unit_of_work(engine) as session:
        assert (open_video(session, video_id)["status"], open_video(session, video_id)["error"]) == ("processing", None)


def test_the_same_broken_content_uploaded_again_is_that_failed_video(engine: Engine, tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data")
    sent: list[list[ItemRef]] = []
    first = intake.upload_target(settings, "clip.mp4")
    cut_video(first)
    reg = intake.accept_upload(engine, settings, sent.append, first, "clip.mp4")
    again = intake.upload_target(settings, "clip again.mp4")
    again.write_bytes(first.read_bytes())
    dup = intake.accept_upload(engine, settings, sent.append, again, "clip again.mp4")
    assert (dup.video_id, dup.duplicate, sent) == (reg.video_id, True, [])
    assert list(settings.resolved_media_dir.iterdir()) == [first]
