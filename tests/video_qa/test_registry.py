"""Registration: only inside the allowed roots, folders walked, one video per content."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from tests.factories.media import silent_video
from video_qa.config import load_settings
from video_qa.db import unit_of_work
from video_qa.models import Video
from video_qa.registry import RegistrationRefused, check_allowed, expand, register_file


@pytest.fixture()
def archive(tmp_path: Path) -> Path:
    root = tmp_path / "archive"
    (root / "talks" / "2026").mkdir(parents=True)
    silent_video(root / "talks" / "2026" / "a.mp4", seconds=2)
    (root / "talks" / "notes.txt").write_text("not media")
    return root


def test_paths_outside_the_roots_are_refused(archive: Path, tmp_path: Path) -> None:
    settings = load_settings(archive_roots=str(archive))
    outside = tmp_path / "elsewhere.mp4"
    shutil.copy(archive / "talks" / "2026" / "a.mp4", outside)
    for bad in (outside, archive / ".." / "elsewhere.mp4"):
        with pytest.raises(RegistrationRefused, match="outside the archive roots"):
            check_allowed(bad, settings)
    link = archive / "escape.mp4"
    link.symlink_to(outside)
    with pytest.raises(RegistrationRefused, match="outside the archive roots"):
        check_allowed(link, settings)
    assert check_allowed(archive / "talks" / "2026" / "a.mp4", settings).name == "a.mp4"


@pytest.mark.parametrize("bad", ["~0", "~no-such-user-here/a.mp4"])
def test_a_tilde_of_no_user_is_refused_not_an_error(archive: Path, bad: str) -> None:
    """``Path.expanduser`` raises for ``~name`` of an unknown user: a refusal, not a server error."""
    with pytest.raises(RegistrationRefused, match="its ~ names no user"):
        check_allowed(bad, load_settings(archive_roots=str(archive)))


def test_a_refusal_names_only_the_given_path_and_logs_the_roots(archive: Path, tmp_path: Path,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    settings = load_settings(archive_roots=str(archive), data_dir=tmp_path / "data")
    with pytest.raises(RegistrationRefused) as refused:
        check_allowed("../secret/clip.mp4", settings)
    assert str(refused.value) == "../secret/clip.mp4: outside the archive roots; add its folder to VIDEOQA_ARCHIVE_ROOTS"
    assert refused.value.outside
    assert str(archive) in caplog.text and str(settings.resolved_media_dir) in caplog.text  # for the operator


def test_folders_are_walked_for_media_only(archive: Path) -> None:
    settings = load_settings(archive_roots=str(archive))
    files, refused = expand([archive / "talks", archive / "missing"], settings)
    assert [f.name for f in files] == ["a.mp4"]
    assert [r.reason for r in refused] == ["no such file or folder"]


def test_same_content_is_one_video_and_a_move_is_followed(archive: Path, engine: Engine) -> None:
    settings = load_settings(archive_roots=str(archive))
    first = archive / "talks" / "2026" / "a.mp4"
    copy = archive / "talks" / "copy of a.mp4"
    shutil.copy(first, copy)
    with unit_of_work(engine) as session:
        a = register_file(session, first, settings)
        b = register_file(session, copy, settings)
    assert not a.duplicate and b.duplicate and a.video_id == b.video_id
    moved = archive / "moved.mp4"
    first.rename(moved)
    copy.unlink()
    with unit_of_work(engine) as session:
        c = register_file(session, moved, settings)
        assert c.video_id == a.video_id and c.path == str(moved.resolve())
        assert session.scalar(select(func.count()).select_from(Video)) == 1
        assert session.get(Video, a.video_id).size == moved.stat().st_size
