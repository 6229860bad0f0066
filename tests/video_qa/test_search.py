"""Search over real ingested videos (speech and on-screen text at known times), on SQLite and
PostgreSQL: phrase and paraphrase, filters, hostile queries, merging."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from tests.factories.media import speech_and_caption_video
from tests.factories.pipeline import ingest, quiet_settings
from video_qa.analyzers import get_embedder
from video_qa.db import make_engine, unit_of_work
from video_qa.models import Base
from video_qa.search import Filters, Hit, mark, merge_adjacent, release_vector_index, search, vector_index

BUDGET_AT, CRANE_AT = 3.0, 8.0  # the harbour speech 3 s after its caption: hits closer than 2 s merge


@pytest.fixture(scope="module")
def archive_db(migrated_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, dict[str, int]]]:
    """Two videos ingested with speech, on-screen text and embeddings, once per database kind."""
    root = tmp_path_factory.mktemp("search-archive")
    settings = quiet_settings(root, speech_model="bundled", ocr=True, embed_model="bundled", clip_seconds=6.0)
    budget = speech_and_caption_video(root / "finance.mp4", seconds=12, speech=(BUDGET_AT, "the quarterly budget is approved"),
                                      caption=(7.0, 11.0, "EXIT 12"))
    crane = speech_and_caption_video(root / "harbour.mp4", seconds=12, speech=(CRANE_AT, "the harbour crane lifts a red container"),
                                     caption=(1.0, 5.0, "GATE 4"))
    engine = make_engine(migrated_url)
    ids = {"finance": ingest(engine, settings, budget)[0], "harbour": ingest(engine, settings, crane)[0]}
    yield engine, ids
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
    engine.dispose()


def _search(engine: Engine, query: str, filters: Filters = Filters(), limit: int = 10) -> list[Hit]:
    with unit_of_work(engine) as session:
        return search(session, engine, query, get_embedder(quiet_settings(Path("/"), embed_model="bundled")), filters, limit)


def test_a_spoken_phrase_finds_its_video_and_second(archive_db) -> None:  # type: ignore[no-untyped-def]
    engine, ids = archive_db
    hits = _search(engine, "quarterly budget")
    assert hits[0].video_id == ids["finance"] and hits[0].kind == "speech"
    assert hits[0].start == pytest.approx(BUDGET_AT, abs=1.0)
    assert "[budget]" in hits[0].marked and "[quarterly]" in hits[0].marked
    assert hits[0].title == "finance"


def test_a_paraphrase_finds_it_through_the_embeddings(archive_db) -> None:  # type: ignore[no-untyped-def]
    engine, ids = archive_db
    hits = _search(engine, "spending plan gets the green light")
    assert hits[0].video_id == ids["finance"] and hits[0].start == pytest.approx(BUDGET_AT, abs=1.0)
    hits = _search(engine, "ship cargo loading at the port")
    assert hits[0].video_id == ids["harbour"] and hits[0].start == pytest.approx(CRANE_AT, abs=1.0)


def test_on_screen_text_is_found_at_its_time(archive_db) -> None:  # type: ignore[no-untyped-def]
    engine, ids = archive_db
    hits = _search(engine, "exit 12", Filters(kinds=("text",)))
    assert hits and hits[0].video_id == ids["finance"] and 7.0 <= hits[0].start <= 9.0
    assert {h.kind for h in hits} == {"text"}


def test_filters(archive_db) -> None:  # type: ignore[no-untyped-def]
    engine, ids = archive_db
    assert {h.video_id for h in _search(engine, "budget crane", Filters(video_id=ids["harbour"]))} == {ids["harbour"]}
    assert all(h.kind == "speech" for h in _search(engine, "budget crane", Filters(kinds=("speech",))))
    late = _search(engine, "quarterly budget", Filters(video_id=ids["finance"], start=9.0))
    assert all(h.end >= 9.0 for h in late) and not any("budget" in h.text for h in late)
    early = _search(engine, "harbour crane", Filters(end=2.0))
    assert all(h.start <= 2.0 for h in early)
    past = datetime.now(timezone.utc) - timedelta(days=1)
    assert _search(engine, "quarterly budget", Filters(uploaded_before=past)) == []
    assert _search(engine, "quarterly budget", Filters(uploaded_after=past))
    with pytest.raises(ValueError, match="unknown kind"):
        _search(engine, "x", Filters(kinds=("nonsense",)))


@pytest.mark.parametrize("query", ['"', "*", "budget*", "NEAR(budget crane)", "'; drop table moments; --", "a OR",
                                   "AND", '"unbalanced', "(((", "^budget", "col:budget", "-", "   ", "\x00", "ü:ß"])
def test_hostile_queries_never_error(archive_db, query: str) -> None:  # type: ignore[no-untyped-def]
    engine, _ = archive_db
    assert isinstance(_search(engine, query), list)
    assert _search(engine, "quarterly budget")  # the table is still there


def test_the_text_query_runs_on_its_own_connection_beside_the_embedding(archive_db, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A clean session: the text query goes to the helper thread, with the same hits as on the
    session itself."""
    import video_qa.search as search_module

    engine, ids = archive_db
    beside = _search(engine, "quarterly budget exit")
    calls: list[list[str]] = []
    alone = search_module._text_alone
    monkeypatch.setattr(search_module, "_text_alone", lambda e, w, f: calls.append(w) or alone(e, w, f))
    assert _search(engine, "quarterly budget exit") == beside
    assert calls == [["quarterly", "budget", "exit"]]
    monkeypatch.setattr(search_module, "_text_meanwhile", lambda *_args: None)
    assert _search(engine, "quarterly budget exit") == beside
    assert beside[0].video_id == ids["finance"]


def test_a_session_with_its_own_writes_searches_them(archive_db, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Uncommitted rows are invisible to another connection: such a session keeps the text query."""
    import video_qa.search as search_module
    from video_qa.moments import NewMoment, replace_moments

    engine, ids = archive_db
    calls: list[object] = []
    alone = search_module._text_alone
    monkeypatch.setattr(search_module, "_text_alone", lambda *a: calls.append(a) or alone(*a))
    embedder = get_embedder(quiet_settings(Path("/"), embed_model="bundled"))
    session = sessionmaker(engine)()
    try:
        replace_moments(session, ids["harbour"], None, 99, "event", [NewMoment(40.0, 41.0, "a zebra crossing")])
        hits = search(session, engine, "zebra", embedder)
        assert [(h.text, h.start) for h in hits if "zebra" in h.text] == [("a zebra crossing", 40.0)]
        assert calls == []
    finally:
        session.rollback()
        session.close()
    with unit_of_work(engine) as clean:
        assert all(h.text != "a zebra crossing" for h in search(clean, engine, "zebra", embedder))
    assert len(calls) == 1


def test_released_vector_index_is_rebuilt_from_the_database(archive_db) -> None:  # type: ignore[no-untyped-def]
    engine, ids = archive_db
    first = _search(engine, "ship cargo loading at the port")
    held = vector_index(engine)
    assert len(held.ids) > 0
    release_vector_index(engine)
    assert vector_index(engine) is not held and len(vector_index(engine).ids) == 0
    again = _search(engine, "ship cargo loading at the port")  # loads it again, same answer
    assert [(h.video_id, h.start) for h in again] == [(h.video_id, h.start) for h in first]
    assert again[0].video_id == ids["harbour"]


def test_adjacent_hits_of_one_video_merge() -> None:
    hits = [Hit(1, "a", 10.0, 12.0, "speech", "one", "one", 0.02, [1], ["speech"]),
            Hit(1, "a", 13.0, 15.0, "text", "two", "two", 0.03, [2], ["text"]),
            Hit(1, "a", 30.0, 31.0, "speech", "far", "far", 0.01, [3], ["speech"]),
            Hit(2, "b", 12.5, 13.0, "speech", "other video", "other video", 0.015, [4], ["speech"])]
    merged = merge_adjacent(hits)
    first = merged[0]
    assert (first.video_id, first.start, first.end, first.kind, first.score) == (1, 10.0, 15.0, "text", 0.03)
    assert first.text == "one … two" and first.moment_ids == [1, 2] and first.kinds == ["speech", "text"]
    assert len(merged) == 3


def test_marking_is_word_based() -> None:
    assert mark("Cranes lifted the crane", ["crane", "lift"]) == "[Cranes] [lifted] the [crane]"
    assert mark("nothing here", []) == "nothing here"


def test_a_chapter_follows_the_precise_moment_it_contains() -> None:
    from video_qa.search import Hit, rank_hits

    chapter = Hit(1, "finance", 0.0, 10.0, "chapter", "The budget is approved.", "", 0.0328)
    speech = Hit(1, "finance", 3.0, 5.0, "speech", "The budget is approved.", "", 0.0325)
    elsewhere = Hit(2, "harbour", 0.0, 10.0, "chapter", "budget talk", "", 0.0327)
    later = Hit(1, "finance", 12.0, 14.0, "speech", "budget again", "", 0.0100)
    ranked = rank_hits([chapter, later, elsewhere, speech])
    # the other video's chapter contains no hit of its own video: it keeps its place by score
    assert [(h.video_id, h.kind, h.start) for h in ranked] == [
        (2, "chapter", 0.0), (1, "speech", 3.0), (1, "chapter", 0.0), (1, "speech", 12.0)]



def test_full_text_ranks_a_bounded_number_of_matches_and_leaves_stop_words_to_the_vectors(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.factories.rows import make_moment, make_video
    from video_qa import search as search_module
    from video_qa.search import text_candidates

    with unit_of_work(engine) as session:
        video = make_video(session, title="docks")
        texts = ["the crane", "the crane lifts", "the crane lifts the crane", "a crane on the pier", "the the on"]
        ids = [make_moment(session, video, None, kind="speech", seq=i, start=float(i), end=i + 1.0, text=t).id
               for i, t in enumerate(texts)]
        video_id = video.id
    only = Filters(video_id=video_id)  # the database may hold other tests' moments
    with unit_of_work(engine) as session:
        everything = text_candidates(session, ["crane"], only)
        assert sorted(everything) == sorted(ids[:4])  # all matches ranked when they are few
        monkeypatch.setattr(search_module, "TEXT_RANK_CAP", 2)
        capped = text_candidates(session, ["crane"], only)
        assert len(capped) == 2 and set(capped) <= set(ids[:4])
        # only stop words: nothing from the text index when vectors will answer, the words otherwise
        assert text_candidates(session, ["the", "on"], only, any_word=False) == []
        if engine.dialect.name == "sqlite":  # PostgreSQL's 'english' configuration drops stop words itself
            assert ids[4] in text_candidates(session, ["the", "on"], only, any_word=True)

