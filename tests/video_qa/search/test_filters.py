"""One ``Filters`` for every statement of a search, on SQLite and PostgreSQL: the full-text query,
the vector part's rows and the plain ``moments`` select keep exactly the moments each filter
describes (a video, kinds, a time range that moments overlap, upload dates)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from sqlalchemy import Engine, select

from tests.factories.rows import make_moment, make_video
from video_qa.db import unit_of_work
from video_qa.models import Moment, MomentEmbedding
from video_qa.search.filters import Filters
from video_qa.search.fulltext import text_matches
from video_qa.search.index.rows import rows_by_id, stream_rows
from video_qa.search.index.space import TEXT

NOW = datetime.now(timezone.utc)
# (video, kind, start, end): every moment says "crane" and has an embedding
SPECS = [(0, "speech", 0.0, 2.0), (0, "text", 5.0, 9.0), (0, "event", 10.0, 11.0),
         (1, "speech", 1.0, 4.0), (1, "text", 8.0, 20.0), (1, "chapter", 0.0, 30.0)]
UPLOADED = [NOW - timedelta(days=10), NOW - timedelta(days=1)]


@pytest.fixture()
def archive(engine: Engine) -> tuple[Engine, list[int], list[int]]:
    with unit_of_work(engine) as session:
        videos = [make_video(session, created_at=when) for when in UPLOADED]
        ids = []
        for seq, (v, kind, start, end) in enumerate(SPECS):
            moment = make_moment(session, videos[v], kind=kind, seq=seq, start=start, end=end, text=f"the crane {seq}")
            session.add(MomentEmbedding(moment_id=moment.id, embedding=np.full(4, seq, np.float32).tobytes()))
            ids.append(moment.id)
        video_ids = [v.id for v in videos]
    return engine, video_ids, ids


def _cases(video_ids: list[int]) -> list[tuple[Filters, set[int]]]:
    """Each filter and the indexes into ``SPECS`` of the moments it keeps."""
    return [
        (Filters(), {0, 1, 2, 3, 4, 5}),
        (Filters(video_id=video_ids[1]), {3, 4, 5}),
        (Filters(kinds=("text", "event")), {1, 2, 4}),
        (Filters(start=9.0), {1, 2, 4, 5}),  # moments ending at 9 s or later
        (Filters(end=1.0), {0, 3, 5}),  # moments starting at 1 s or earlier
        (Filters(start=3.0, end=6.0), {1, 3, 5}),  # overlapping 3-6 s
        (Filters(uploaded_after=NOW - timedelta(days=5)), {3, 4, 5}),
        (Filters(uploaded_before=NOW - timedelta(days=5)), {0, 1, 2}),
        (Filters(uploaded_after=NOW - timedelta(days=20), uploaded_before=NOW - timedelta(days=5),
                 kinds=("speech",), end=1.0), {0}),
        (Filters(video_id=video_ids[0], uploaded_after=NOW), set()),
    ]


def test_one_filter_keeps_the_same_moments_in_every_statement(archive) -> None:  # type: ignore[no-untyped-def]
    engine, video_ids, ids = archive
    everything = np.array(ids, dtype=np.int64)
    with unit_of_work(engine) as session:
        for filters, kept in _cases(video_ids):
            want = {ids[i] for i in kept}
            assert filters.active == (filters != Filters())
            mine = filters.apply(select(Moment.id).where(Moment.id.in_(ids)))
            assert set(session.scalars(mine)) == want, filters
            every, some = text_matches(session, ["crane"], filters, limit=50)
            assert set(every) == want and some == [], filters
            assert set(rows_by_id(session, TEXT, everything, filters)[0].tolist()) == want, filters
            streamed = [i for part, _, _ in stream_rows(session, TEXT, min(ids) - 1, filters=filters) for i in part.tolist()]
            assert streamed == sorted(want), filters  # in id order
