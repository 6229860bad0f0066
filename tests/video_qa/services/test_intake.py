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
