"""A shot found by its colours, through the pipeline and search, by value (issue 28; SQLite and PostgreSQL).

The video: a blue frame 0-4 s, a grey one 4-8 s, ffmpeg's smptebars 8-12 s, joined with hard cuts, ingested
with the default labels and no image-text model (the offline setup of the issue, where these shots had no
label and nothing found them), clips of 6 s.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from tests.factories.media import ENCODERS, ffmpeg
from tests.factories.pipeline import ingest, quiet_settings, request
from video_qa.db import unit_of_work
from video_qa.models import ItemPart, Moment, MomentKind, WorkItem
from video_qa.pipeline import settings_key
from video_qa.pipeline.ledger import PART_FIELDS
from video_qa.search import search

BARS = "blue; black; colour bars (color bars)"  # smptebars' keyframe: its most common colours, then what it is


@pytest.fixture(scope="module")
def colours_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("colours") / "colours.mp4"
    sources = ("color=c=blue", "color=c=gray", "smptebars")
    inputs = [arg for source in sources for arg in ("-f", "lavfi", "-t", "4", "-i",
                                                    f"{source}{':' if '=' in source else '='}size=320x240:rate=25")]
    chains = "".join(f"[{i}:v]format=yuv420p,setsar=1[v{i}];" for i in range(len(sources)))
    ffmpeg(*inputs, "-filter_complex", chains + "".join(f"[v{i}]" for i in range(len(sources))) + "concat=n=3:v=1[v]",
           "-map", "[v]", *ENCODERS["h264"], str(path))
    return path


def found(engine: Engine, video_id: int, query: str) -> list[tuple[str, float, float, str]]:
    with unit_of_work(engine) as session:
        return [(h.kind, h.start, h.end, h.text) for h in search(session, engine, query) if h.video_id == video_id]


def visual(engine: Engine, video_id: int) -> list[tuple[float, float, str, list[str]]]:
    with unit_of_work(engine) as session:
        rows = session.scalars(select(Moment).where(Moment.video_id == video_id, Moment.kind == MomentKind.visual.value)
                               .order_by(Moment.start)).all()
        return [(m.start, m.end, m.text, [label["vocab"] for label in (m.meta or {})["labels"]]) for m in rows]


def test_a_blue_shot_is_found_by_blue_a_grey_one_by_either_spelling_and_the_bars_by_colour_bars(
        tmp_path: Path, engine: Engine, colours_video: Path) -> None:
    settings = quiet_settings(colours_video.parent, clip_seconds=6.0, visual_model="auto", labels="auto")
    video_id, ran = ingest(engine, settings, colours_video)
    assert {r.part for r in ran} == {"ingest", "hear_read", "finalize"}  # look is done by hear_read
    shots = visual(engine, video_id)
    assert [(start, end, text) for start, end, text, _ in shots] == [
        (0.0, 4.0, "blue"), (4.0, 8.0, "grey (gray)"), (8.0, 12.0, BARS)]
    assert all(set(vocabularies) == {"colours"} for *_, vocabularies in shots)  # no class, no face on these
    blue = found(engine, video_id, "blue")
    assert blue[0] == ("visual", 0.0, 4.0, "blue") and blue[1:] == [("visual", 8.0, 12.0, BARS)]
    for query in ("grey", "gray", "grey shot"):
        assert found(engine, video_id, query) == [("visual", 4.0, 8.0, "grey (gray)")]
    for query in ("colour bars", "color bars"):
        assert found(engine, video_id, query) == [("visual", 8.0, 12.0, BARS)]


def test_shots_looked_at_by_an_older_release_get_their_colours_on_the_next_ingest(
        tmp_path: Path, engine: Engine, colours_video: Path) -> None:
    settings = quiet_settings(colours_video.parent, clip_seconds=6.0, visual_model="auto", labels="auto")
    video_id, _ = ingest(engine, settings, colours_video)
    # what a release before the colours left: shots with no label, the look part done under its key of then
    before = {name: getattr(settings, name) for name in PART_FIELDS[ItemPart.look.value]}
    old_key = hashlib.sha256(json.dumps(before, sort_keys=True, default=str).encode()).hexdigest()[:32]
    assert old_key != settings_key(settings, ItemPart.look.value)  # look's version is in its key
    with unit_of_work(engine) as session:
        session.execute(update(Moment).where(Moment.video_id == video_id, Moment.kind == MomentKind.visual.value)
                        .values(text=""))
        session.execute(update(WorkItem).where(WorkItem.video_id == video_id, WorkItem.part == ItemPart.look.value)
                        .values(settings_key=old_key))
    assert found(engine, video_id, "blue") == []
    ran = request(engine, settings, video_id)
    assert sorted((r.clip_index, r.part) for r in ran if r.clip_index >= 0) == [(0, "look"), (1, "look")]
    assert [text for _, _, text, _ in visual(engine, video_id)] == ["blue", "grey (gray)", BARS]
    assert found(engine, video_id, "blue")[0] == ("visual", 0.0, 4.0, "blue")
