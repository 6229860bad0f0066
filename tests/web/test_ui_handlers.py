"""The Gradio app's handlers without a browser: a file that changed on disk after it was analysed is
said so in the Library and in search results, with a Re-analyse button that queues the video again;
a refused upload names the uploaded file, never a server folder, and is cleared from the box; a
duplicate upload says which video it is; the library pages, filters and opens a clicked row; a
failed video has no player; a retried video is watched until it is ready or failed again."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import gradio as gr
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.factories.media import silent_video
from tests.factories.rows import make_clip, make_moment, make_video
from video_qa.config import get_settings, load_settings
from video_qa.db import engine_for, unit_of_work
from video_qa.media import thumbs
from video_qa.migrate import prepare_database
from video_qa.models import Video
from video_qa.pipeline import ItemRef
from video_qa.services.videos import video_moments
from web.server import create_app
from web.ui import Handlers


def test_a_changed_file_is_said_and_offered_for_re_analysis(engine: Engine, tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    archive.mkdir()
    settings = load_settings(archive_roots=str(archive))
    path = silent_video(archive / "dock.mp4", seconds=2)
    analysed = path.stat()
    with unit_of_work(engine) as session:
        video = make_video(session, title="Dock", path=str(path), status="ready", duration=2.0,
                           size=analysed.st_size, file_mtime=analysed.st_mtime)
        make_moment(session, video, make_clip(session, video, start=0.0, end=2.0), kind="speech", start=0.5,
                    end=1.5, text="the ferry docks")
        video_id = video.id
    sent: list[list[ItemRef]] = []
    h = Handlers(settings, engine, sent.append)

    def opened() -> tuple[str, Any]:
        _, detail, _, button, _ = h.select(video_id)
        return detail, button

    detail, button = opened()
    assert "changed on disk" not in detail and button.visible is False
    assert "changed on disk" not in h.search("ferry", None)
    os.utime(path, (analysed.st_atime, analysed.st_mtime + 30))
    detail, button = opened()
    assert "changed on disk since it was analysed" in detail
    assert button.visible is True and button.value == "Re-analyse"
    assert "changed on disk since it was analysed" in h.search("ferry", None)
    h.retry(video_id)
    assert sent == [[ItemRef(video_id, -1, "ingest")]]


def test_a_refused_upload_names_the_upload_only(engine: Engine, tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data")
    notes = tmp_path / "gradio" / "notes.mp4"
    notes.parent.mkdir()
    notes.write_text("minutes of the meeting\n" * 50)
    state, progress, *_ = Handlers(settings, engine, lambda refs: None).upload(str(notes), {"video_id": None})
    assert "notes.mp4: not a media file" in progress
    assert str(tmp_path) not in progress


def test_library_pages_filters_and_opens_a_row(engine: Engine, tmp_path: Path) -> None:
    with unit_of_work(engine) as session:
        ids = [make_video(session, title=f"harbour {i:03d}" if i % 2 else f"lecture {i:03d}",
                          status="failed" if i % 10 == 0 else "ready", duration=60.0,
                          error="absurd dimensions" if i % 10 == 0 else None).id for i in range(120)]
    h = Handlers(load_settings(data_dir=tmp_path / "data", vlm_model=""), engine, lambda refs: None)
    table, _, page = h.library(None)
    rows = re.findall(r'<li data-video="(\d+)"', table)
    assert page == 0 and len(rows) == 50 and rows[0] == str(ids[-1])  # newest first, 50 a page
    assert "1–50 of 120 videos" in table
    table, _, page = h.next_page(None, "", "all", 2)  # past the end: the last page
    assert page == 2 and "101–120 of 120 videos" in table
    table, _, page = h.prev_page(None, "", "all", page)
    assert page == 1 and re.findall(r'<li data-video="(\d+)"', table)[0] == str(ids[-51])
    table, _, _ = h.filtered(None, "HARBOUR", "all")
    assert "1–50 of 60 videos" in table and "lecture" not in table
    table, _, _ = h.filtered(None, "", "failed")
    assert "1–12 of 12 videos" in table and table.count("vqa-row-failed") == 12 and "absurd dimensions" in table
    table, _, _ = h.filtered(None, f"#{ids[7]}", "all")
    assert re.findall(r'<li data-video="(\d+)"', table) == [str(ids[7])]
    assert "No video matches" in h.filtered(None, "nothing like this", "all")[0]

    # a click on a row (the table's script sends {"video": id} with a click event) opens that video
    player, detail, side, retry, timer, choose = h.open_row(gr.EventData(None, {"video": str(ids[0])}))
    assert f'data-video="{ids[0]}"' in detail and choose["value"] == ids[0]
    assert "<video" not in player and "This video cannot be played." in player  # failed: no player
    assert (player + detail + side).count("absurd dimensions") == 1  # the reason said once
    assert side == ""
    assert retry.visible is True and timer.active is False
    player, detail, side, *_ = h.open_row(gr.EventData(None, {"video": str(ids[1])}))
    assert all(out == gr.skip() for out in h.open_row(gr.EventData(None, {"video": "x"})))  # not an id: nothing
    assert "<video" in player and "no vision model configured" in detail


def test_retry_is_watched_until_it_is_ready_or_failed_again(engine: Engine, tmp_path: Path) -> None:
    with unit_of_work(engine) as session:
        video_id = make_video(session, title="sliver", status="processing", duration=5.0).id
    h = Handlers(load_settings(data_dir=tmp_path / "data"), engine, lambda refs: None)
    player, detail, side, retry, timer = h.select(video_id)
    assert timer.active is True and 'data-status="processing"' in detail
    *_, timer = h.watch(video_id)
    assert timer.active is True
    with unit_of_work(engine) as session:
        row = session.get(Video, video_id)
        row.status, row.error = "failed", "sliver.mkv: absurd dimensions"
    player, detail, side, retry, timer = h.watch(video_id)
    assert timer.active is False and retry.visible is True
    assert "absurd dimensions" in detail and "<video" not in player


def test_a_refused_upload_is_cleared_and_a_duplicate_says_where_it_is(engine: Engine, tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data")
    notes = tmp_path / "gradio" / "notes.mp4"
    notes.parent.mkdir()
    notes.write_text("minutes of the meeting\n" * 50)
    h = Handlers(settings, engine, lambda refs: None)
    *_, box, pick = h.upload(str(notes), {"video_id": None})
    assert box is None and pick == gr.skip()  # the upload box is emptied; the dropdown left as it was
    first = silent_video(tmp_path / "gradio" / "dock.mp4", seconds=2)
    copy = tmp_path / "gradio2" / "dock again.mp4"
    copy.parent.mkdir()
    copy.write_bytes(first.read_bytes())
    state, progress, *_ = h.upload(str(first), {"video_id": None})
    assert "already in the library" not in progress
    again, progress, *_ = h.upload(str(copy), {"video_id": None})
    assert again["video_id"] == state["video_id"]
    assert f"dock again.mp4 is already in the library as #{state['video_id']}: opened it." in progress


def test_thumbnails_are_made_once_and_served_with_caching_headers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = tmp_path / "archive"
    archive.mkdir()
    monkeypatch.setenv("VIDEOQA_ARCHIVE_ROOTS", str(archive))
    monkeypatch.setenv("VIDEOQA_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    settings = get_settings()
    prepare_database(settings)
    path = silent_video(archive / "dock.mp4", seconds=3)
    with unit_of_work(engine_for(settings.resolved_database_url)) as session:
        video_id = make_video(session, title="Dock", path=str(path), status="ready", duration=3.0).id
    made: list[float] = []
    real = thumbs.thumbnail
    monkeypatch.setattr(thumbs, "thumbnail", lambda p, t, width=320: made.append(t) or real(p, t, width))
    with TestClient(create_app(settings)) as client:
        first = client.get(f"/api/v1/videos/{video_id}/thumbnail", params={"t": 1.234})
        again = client.get(f"/api/v1/videos/{video_id}/thumbnail", params={"t": 1.21})  # the same 100 ms step
        assert first.status_code == again.status_code == 200 and first.content[:2] == b"\xff\xd8"
        assert made == [1.2] and first.content == again.content
        assert (tmp_path / "data" / "thumbs" / str(video_id) / "1200.jpg").read_bytes() == first.content
        assert first.headers["cache-control"] == "private, max-age=300"
        etag = first.headers["etag"]
        assert again.headers["etag"] == etag
        unchanged = client.get(f"/api/v1/videos/{video_id}/thumbnail", params={"t": 1.2}, headers={"If-None-Match": etag})
        assert unchanged.status_code == 304 and unchanged.content == b""
        os.utime(path, (path.stat().st_atime, path.stat().st_mtime + 60))  # the file was written again
        assert client.get(f"/api/v1/videos/{video_id}/thumbnail", params={"t": 1.2}).status_code == 200
        assert made == [1.2, 1.2]
    get_settings.cache_clear()


def test_a_moments_uncertainty_reaches_the_page(engine: Engine, tmp_path: Path) -> None:
    with unit_of_work(engine) as session:
        video = make_video(session, title="Slides", status="ready", duration=300.0)
        make_moment(session, video, None, kind="text", start=242.2, end=250.9, text="QUARTERLY PLAN",
                    meta={"start_uncertainty": 1.2345, "end_uncertainty": 0.4})
        make_moment(session, video, None, kind="speech", seq=1, start=10.0, end=12.0, text="hello", meta=None)
        video_id = video.id
    with unit_of_work(engine) as session:
        rows = {m["text"]: m for m in video_moments(session, video_id)}
    assert (rows["QUARTERLY PLAN"]["start_uncertainty"], rows["QUARTERLY PLAN"]["end_uncertainty"]) == (1.234, 0.4)
    assert (rows["hello"]["start_uncertainty"], rows["hello"]["end_uncertainty"]) == (0.0, 0.0)
    _, _, side, _, _ = Handlers(load_settings(data_dir=tmp_path / "d"), engine, lambda refs: None).select(video_id)
    assert ">0:04:02–0:04:10\u00a0±1\u00a0s<" in side and ">0:00:10.0–0:00:12.0<" in side


def test_the_ui_search_matches_the_visual_space_as_the_api_does(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """With an image-text model configured, the Search tab's query reaches the visual space (the
    same ``services.similar.visual_query`` the API's dependency gives ``search_hits``)."""
    import web.ui as ui

    towers: list[Any] = []
    marker = object()
    monkeypatch.setattr(ui, "visual_query", lambda settings: marker)
    monkeypatch.setattr(ui, "search_hits", lambda *a, **kw: towers.append(kw.get("visual")) or [])
    Handlers(load_settings(), engine, lambda refs: None).search("a red car", [])
    assert towers == [marker]
