"""A generated video ingested through the real pipeline (OCR, embeddings), on SQLite and
PostgreSQL: a running clock and a frame counter in two corners, a caption at known times and hard
cuts, two of them exactly at clip boundaries (issue 29, points 1 and 2).

Truth: 60 s, clips of 20 s; the clock (``%{pts:hms}``) bottom-left and the frame counter
(``%{frame_num}``) top-right all the time; "HARBOUR CRANE SAFETY" drawn 24-36 s; the background's
colour cut hard at 20, 30 and 40 s; on-screen text sampled every 2 s.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from tests.factories.media import text_video
from tests.factories.pipeline import ingest, quiet_settings
from video_qa.analyzers import get_embedder
from video_qa.db import make_engine, unit_of_work
from video_qa.models import Base, Moment, Video
from video_qa.search import Filters, search

CAPTION = (24.0, 36.0, "HARBOUR CRANE SAFETY")
CUTS = (20.0, 30.0, 40.0)
SAMPLE = 2.0  # seconds between the on-screen text samples (0.5 fps)
CLOCKLIKE = re.compile(r"^[\d\s:.,…/-]+$")  # a timecode, a counter or a range of them: no letter


@pytest.fixture(scope="module")
def ingested(migrated_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, int]]:
    root = tmp_path_factory.mktemp("clock")
    path = text_video(root / "clock.mp4", seconds=60, counter=True, clock=True, cuts=CUTS,
                      items=((CAPTION[0], CAPTION[1], CAPTION[2], "(w-tw)/2", "150", 34),))
    settings = quiet_settings(root, ocr=True, embed_model="bundled", clip_seconds=20.0)
    engine = make_engine(migrated_url)
    video_id, _ = ingest(engine, settings, path)
    yield engine, video_id
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
    engine.dispose()


def _moments(engine: Engine, video_id: int, kind: str) -> list[Moment]:
    with unit_of_work(engine) as session:
        rows = session.scalars(select(Moment).where(Moment.video_id == video_id, Moment.kind == kind)
                               .order_by(Moment.start)).all()
        session.expunge_all()
        return list(rows)


def test_clock_and_counter_are_no_moment_and_the_caption_is_found_at_its_time(ingested) -> None:  # type: ignore[no-untyped-def]
    engine, video_id = ingested
    with unit_of_work(engine) as session:
        video = session.get(Video, video_id)
        assert video is not None and video.status == "ready"
        summary = video.summary or ""
        every = session.scalars(select(Moment).where(Moment.video_id == video_id)).all()
        texts = [(m.kind, m.text) for m in every]
    assert not [t for t in texts if CLOCKLIKE.match(t[1])], texts  # no clock, no counter, no range of them
    assert not [t for t in texts if re.search(r"\d\d:\d\d", t[1])], texts
    text = _moments(engine, video_id, "text")
    (caption,) = [m for m in text if m.text.upper() == CAPTION[2]]
    assert caption.start - caption.meta["start_uncertainty"] - 1e-6 <= CAPTION[0] <= caption.start
    assert abs(caption.end - CAPTION[1]) <= caption.meta["end_uncertainty"] + 1e-6
    assert not re.search(r"\d\d:\d\d|\d{3,}", summary), summary


def test_a_search_for_a_time_finds_nothing_from_the_clock(ingested) -> None:  # type: ignore[no-untyped-def]
    engine, video_id = ingested
    embedder = get_embedder(quiet_settings(Path("/"), embed_model="bundled"))
    for query in ("00:00:40", "00:00:40.000", "750"):
        with unit_of_work(engine) as session:
            hits = search(session, engine, query, embedder, Filters())
        assert not [h for h in hits if re.search(r"\d", h.text)], (query, [(h.kind, h.text) for h in hits])
    with unit_of_work(engine) as session:
        hits = search(session, engine, "harbour crane safety", embedder, Filters(kinds=("text",)))
    assert hits and hits[0].video_id == video_id and CAPTION[0] <= hits[0].start <= CAPTION[0] + SAMPLE


def test_every_cut_bounds_a_chapter_and_no_chapter_spans_one(ingested) -> None:  # type: ignore[no-untyped-def]
    engine, video_id = ingested
    chapters = _moments(engine, video_id, "chapter")
    assert chapters[0].start == 0.0 and chapters[-1].end == pytest.approx(60.0, abs=0.1)
    assert all(a.end == b.start for a, b in zip(chapters, chapters[1:]))
    for cut in CUTS:  # a boundary within the cut's uncertainty: after the sample before it, at or after the cut
        assert [c for c in chapters[1:] if cut - 1e-6 <= c.start <= cut + c.meta["start_uncertainty"] + 1e-6], (
            cut, [(c.start, c.end, c.text) for c in chapters])
        assert not [c for c in chapters if c.start < cut - 1e-6 and c.end > cut + SAMPLE + 1e-6], cut
    titles = [c.text for c in chapters]
    assert not [t for t in titles if CLOCKLIKE.match(t) or re.search(r"\d\d:\d\d", t)], titles
    # the caption (24-36 s) is on screen across the 30-s cut: it titles the chapters on both sides
    assert [c.text for c in chapters if c.start in (20.0, 30.0)] == [CAPTION[2], CAPTION[2]]
