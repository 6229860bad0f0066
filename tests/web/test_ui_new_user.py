"""Upload & Ask as issue 28's new user met it, by the handlers' values (no browser): a truncated file's
notice is said there as the Library says it, once the file has been probed; an upload is the video
the dropdown shows; a failed or unfinished video is not answered with "no moment matches"."""

from __future__ import annotations

from html import unescape
from pathlib import Path

from sqlalchemy import Engine, func, select

from tests.factories.media import silent_video
from tests.factories.rows import make_video
from video_qa.config import load_settings
from video_qa.db import unit_of_work
from video_qa.models import Question, Video
from web.ui import Handlers

NOTICE = "truncated: 44.4 s of 75 s readable"


def test_a_truncated_upload_says_so_in_upload_and_ask_once_it_is_probed(engine: Engine, tmp_path: Path) -> None:
    with unit_of_work(engine) as session:
        video_id = make_video(session, title="harbour", status="processing", duration=None).id
    h = Handlers(load_settings(data_dir=tmp_path / "data"), engine, lambda refs: None)
    state, progress, player, _, timer = h.pick(video_id, {"video_id": None})
    assert "truncated" not in progress + player and timer.active is True  # not probed yet: nothing known
    with unit_of_work(engine) as session:  # the ingest probes it (75 s claimed, 44.4 s readable) and finishes
        row = session.get(Video, video_id)
        row.duration, row.probe, row.status = 44.4, {"claimed_duration": 75.0}, "ready"
    progress, timer, _ = h.poll(state)
    assert NOTICE in progress and 'data-status="ready"' in progress and timer.active is False
    # the Library's card says the same words, from the same video JSON
    table, _, _ = h.library(None)
    assert NOTICE in table
    # opened again from the dropdown: said once in the tab (the progress box, not under the player too)
    _, progress, player, _, _ = h.pick(video_id, state)
    assert (progress + player).count(NOTICE) == 1


def test_a_failed_upload_is_the_video_the_dropdown_shows_and_asking_it_says_why(engine: Engine, tmp_path: Path) -> None:
    with unit_of_work(engine) as session:
        ready = make_video(session, title="test", status="ready", duration=10.0).id
    whole = silent_video(tmp_path / "whole.mp4", seconds=4)
    broken = tmp_path / "gradio" / "broken_download.mp4"
    broken.parent.mkdir()
    broken.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])  # the end (and its index) missing
    h = Handlers(load_settings(data_dir=tmp_path / "data"), engine, lambda refs: None)
    state, *_ = h.pick(ready, {"video_id": None})  # the user had asked about "test" before
    state, progress, player, _, timer, _, pick = h.upload(str(broken), state)
    failed = state["video_id"]
    assert failed != ready and 'data-status="failed"' in progress and "<video" not in player
    assert pick.value == failed  # the dropdown shows the upload, not "test (#1, ready)"
    assert (f"broken_download (#{failed}, failed)", failed) in pick.choices
    assert ("test (#%d, ready)" % ready, ready) in pick.choices
    with unit_of_work(engine) as session:
        reason = session.get(Video, failed).error
    assert reason and reason.startswith("broken_download.mp4: ")
    state, chat, box = h.ask("What is the lighthouse?", state)
    # what `videoqa ask` says (videoqa_cli.commands.library._has_moments), not "no moment matches"
    assert f"video {failed} failed, so it has nothing to ask about: {reason}" in unescape(chat)
    assert "matches" not in chat and box == ""
    with unit_of_work(engine) as session:
        assert session.scalar(select(func.count()).select_from(Question)) == 0  # nothing was asked


def test_a_video_still_being_analysed_is_not_answered_with_no_moment_matches(engine: Engine, tmp_path: Path) -> None:
    with unit_of_work(engine) as session:
        video_id = make_video(session, title="dock", status="processing", duration=30.0).id
    h = Handlers(load_settings(data_dir=tmp_path / "data"), engine, lambda refs: None)
    state, *_ = h.pick(video_id, {"video_id": None})
    _, chat, _ = h.ask("Where is the ferry?", state)
    assert (f"video {video_id} is still being analysed (processing), so it has nothing to ask about yet: "
            "ask again when it is ready") in unescape(chat)
    # once it is ready the poll keeps it chosen in the dropdown (among the ready videos)
    with unit_of_work(engine) as session:
        session.get(Video, video_id).status = "ready"
    _, _, pick = h.poll(state)
    assert pick.value == video_id and (f"dock (#{video_id}, ready)", video_id) in pick.choices
