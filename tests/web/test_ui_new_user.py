"""Upload & Ask as issue 28's new user met it, by the handlers' values (no browser): a truncated file's
notice is said there as the Library says it, once the file has been probed; an upload is the video
the dropdown shows; a failed or unfinished video is not answered with "no moment matches"."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from tests.factories.rows import make_video
from video_qa.config import load_settings
from video_qa.db import unit_of_work
from video_qa.models import Video
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
