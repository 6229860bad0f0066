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


# --- the query embedder -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def query_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data folder for the query-embedder tests (an export is made once, by the first)."""
    return tmp_path_factory.mktemp("query") / "data"


def test_a_search_without_an_export_falls_back_once_and_exports(query_data: Path,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    import numpy as np

    from model.query_embed import QueryEmbedder, check_export, export_folder
    from video_qa.analyzers import get_embedder
    from video_qa.registry import ExportOnFirstQuery, _query_embedders, get_query_embedder

    settings = load_settings(embed_model="bundled", device="cpu", data_dir=query_data)
    first = get_query_embedder(settings)
    assert isinstance(first, ExportOnFirstQuery) and "no export in" in first.why
    query = "when was the marketing budget approved"
    vector = first.encode_query(query)
    assert "embedding with PyTorch once, exporting into" in caplog.text
    heavy = get_embedder(settings).encode([query])[0]
    assert vector.shape == (384,) and float(np.abs(vector - heavy).max()) < 1e-4
    folder = export_folder(settings.models_dir, get_embedder(settings).location)
    assert check_export(folder, get_embedder(settings).location) is None  # in place for the next process
    assert get_query_embedder(settings) is first  # one per process
    _query_embedders.clear()  # as a new process finds it
    light = get_query_embedder(settings)
    assert isinstance(light, QueryEmbedder) and light.folder == folder
    assert float(np.abs(light.encode_query(query) - heavy).max()) < 1e-4


def test_export_query_embedder_finds_the_export_and_checks_it(query_data: Path) -> None:
    from model.query_embed import QueryEmbedder
    from video_qa.registry import export_query_embedder, get_query_embedder

    settings = load_settings(embed_model="bundled", device="cpu", data_dir=query_data)
    light = export_query_embedder(settings)  # the previous test's export: found, not made again
    assert isinstance(light, QueryEmbedder) and get_query_embedder(settings) is light


def test_no_query_embedder_when_embeddings_are_off(tmp_path: Path) -> None:
    from video_qa.registry import export_query_embedder, get_query_embedder

    settings = load_settings(embed_model="off", data_dir=tmp_path / "data")
    assert get_query_embedder(settings) is None and export_query_embedder(settings) is None
    assert not settings.models_dir.exists()


def test_a_data_folder_that_cannot_hold_the_export_leaves_queries_on_pytorch(tmp_path: Path,
                                                                            caplog: pytest.LogCaptureFixture) -> None:
    import numpy as np

    from video_qa.analyzers import get_embedder
    from video_qa.registry import get_query_embedder

    data = tmp_path / "data"
    data.mkdir()
    (data / "models").write_text("a file where the models folder would be")  # mkdir fails: an OSError
    settings = load_settings(embed_model="bundled", device="cpu", data_dir=data)
    fallback = get_query_embedder(settings)
    vector = fallback.encode_query("quarterly budget")
    assert fallback.light() is None and "single queries stay on PyTorch" in caplog.text
    assert np.array_equal(vector, get_embedder(settings).encode(["quarterly budget"])[0])
