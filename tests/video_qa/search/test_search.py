"""Search over real ingested videos (speech and on-screen text at known times), on SQLite and
PostgreSQL: phrase and paraphrase, filters, hostile queries, merging; then moments with real
embeddings written by a factory: hits keep their own times, the relevance floor, no sentence twice."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from tests.factories.media import speech_and_caption_video
from tests.factories.moments import (EVAL_QUERIES, EVAL_VIDEOS, NONSENSE_QUERIES, Spec, eval_specs, relevance_sweep,
                                     write_moments)
from tests.factories.pipeline import ingest, quiet_settings
from tests.factories.rows import make_video
from video_qa.analyzers import get_embedder
from video_qa.db import make_engine, unit_of_work
from video_qa.models import Base
from video_qa.search import (MERGE_MAX_SECONDS, VECTOR_FLOOR, VECTOR_MARGIN, Filters, Hit, merge_adjacent,
                             relevant, release_vector_index, search, uncertainty, vector_index)

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
    first = hits[0]
    assert [first.text[s:e].lower() for s, e in first.highlights] == ["quarterly", "budget"]
    assert "[" not in first.text and first.to_dict()["highlights"] == [list(p) for p in first.highlights]
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


@pytest.mark.parametrize(("query", "words_", "found"), [
    # query syntax of either engine is only words: the word is found, the syntax is not
    ("budget*", {"budget"}, "finance"), ("^budget", {"budget"}, "finance"),
    ("col:budget", {"budget", "col"}, "finance"),
    ("NEAR(budget crane)", {"budget", "crane", "near"}, None),
    # nothing a moment says, and nothing close in meaning: nothing comes back
    ('"', set(), None), ("*", set(), None), ("'; drop table moments; --", set(), None), ("a OR", set(), None),
    ("AND", set(), None), ('"unbalanced', set(), None), ("(((", set(), None), ("-", set(), None),
    ("   ", set(), None), ("\x00", set(), None), ("ü:ß", set(), None),
])
def test_hostile_queries_never_error(archive_db, query: str, words_: set[str], found: str | None) -> None:  # type: ignore[no-untyped-def]
    """No error, and what comes back is what the query's words find: every hit holds one of them
    (none when it has none), the budget sentence at its time when the word is "budget"."""
    engine, ids = archive_db
    hits = _search(engine, query)
    assert all(set(re.findall(r"\w+", h.text.lower())) & words_ for h in hits), [h.text for h in hits]
    if not words_:
        assert hits == []
    if found is not None:
        assert hits[0].video_id == ids[found] and hits[0].start == pytest.approx(BUDGET_AT, abs=1.0)
    assert _search(engine, "quarterly budget")  # the table is still there


def test_the_text_query_runs_on_its_own_connection_beside_the_embedding(archive_db, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A clean session: the text query goes to the helper thread, with the same hits as on the
    session itself."""
    import video_qa.search.service as search_module

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
    import video_qa.search.service as search_module
    from video_qa.moments.store import replace_moments
    from video_qa.moments.values import NewMoment

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


def test_adjacent_hits_of_one_video_and_kind_merge() -> None:
    hits = [Hit(1, "a", 10.0, 12.0, "speech", "one", [(0, 3)], 0.02, [1], ["speech"]),
            Hit(1, "a", 13.0, 15.0, "speech", "two", [(0, 3)], 0.03, [2], ["speech"]),
            Hit(1, "a", 30.0, 31.0, "speech", "far", [(0, 3)], 0.01, [3], ["speech"]),
            Hit(2, "b", 12.5, 13.0, "speech", "other video", [(0, 5)], 0.015, [4], ["speech"])]
    merged = merge_adjacent(hits)
    first = merged[0]
    assert (first.video_id, first.start, first.end, first.kind, first.score) == (1, 10.0, 15.0, "speech", 0.03)
    assert first.text == "one … two" and first.moment_ids == [1, 2]
    assert [first.text[s:e] for s, e in first.highlights] == ["one", "two"]  # offsets moved with the text
    assert len(merged) == 3


def test_a_sentence_said_over_a_slide_keeps_its_own_time() -> None:
    # both match the query, but a slide shown 51-74 s must not swallow the sentence said at 54.7 s
    slide = Hit(1, "a", 51.48, 74.0, "text", "EMERGENCY EXITS", [], 0.03, [1], ["text"])
    said = Hit(1, "a", 54.73, 56.05, "speech", "please wear your helmet", [], 0.02, [2], ["speech"])
    merged = merge_adjacent([slide, said])
    assert sorted((h.kind, h.start, h.end) for h in merged) == [("speech", 54.73, 56.05), ("text", 51.48, 74.0)]


def test_a_chapter_follows_the_precise_moment_it_contains() -> None:
    from video_qa.search import Hit, rank_hits

    chapter = Hit(1, "finance", 0.0, 10.0, "chapter", "The budget is approved.", [], 0.0328)
    speech = Hit(1, "finance", 3.0, 5.0, "speech", "The budget is approved.", [], 0.0325)
    elsewhere = Hit(2, "harbour", 0.0, 10.0, "chapter", "budget talk", [], 0.0327)
    later = Hit(1, "finance", 12.0, 14.0, "speech", "budget again", [], 0.0100)
    ranked = rank_hits([chapter, later, elsewhere, speech])
    # the other video's chapter contains no hit of its own video: it keeps its place by score
    assert [(h.video_id, h.kind, h.start) for h in ranked] == [
        (2, "chapter", 0.0), (1, "speech", 3.0), (1, "chapter", 0.0), (1, "speech", 12.0)]



def test_full_text_ranks_a_bounded_number_of_matches_and_leaves_stop_words_to_the_vectors(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.factories.rows import make_moment, make_video
    from video_qa.search import fulltext as search_module
    from video_qa.search import text_matches

    def text_candidates(*args, **kwargs):  # type: ignore[no-untyped-def]
        every, some = text_matches(*args, **kwargs)
        return every + some

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



# ---- hits keep their own times: moments with real embeddings, on SQLite and PostgreSQL
#
# These tests delete every row after themselves (the ``engine`` fixture), so they come after the
# tests on the ingested archive above.

def _embedder():  # type: ignore[no-untyped-def]
    return get_embedder(quiet_settings(Path("/"), embed_model="bundled"))


@pytest.fixture()
def fresh(engine: Engine) -> Iterator[Engine]:
    """An engine whose in-process vector index starts empty: SQLite gives a deleted row's id (and
    time) to the next row, which an index kept from an earlier test could not tell apart."""
    release_vector_index(engine)
    yield engine
    release_vector_index(engine)


def _write(engine: Engine, videos: dict[str, list[Spec]]) -> dict[str, int]:
    ids: dict[str, int] = {}
    with unit_of_work(engine) as session:
        for title, specs in videos.items():
            ids.update(write_moments(session, make_video(session, title=title), specs, _embedder()))
    return ids


def _found(engine: Engine, query: str, filters: Filters = Filters()) -> list[tuple[str, float, float, list[int]]]:
    return [(h.title, round(h.start, 3), round(h.end, 3), sorted(h.moment_ids)) for h in _search(engine, query, filters, 20)]


UNRELATED = ["Welcome to the weekly safety briefing", "GATE 4", "A forklift moves pallets into the warehouse",
             "Heavy rain is expected tomorrow", "HOME 2 - 1 AWAY", "Take one tablet twice a day after meals",
             "Preheat the oven to two hundred degrees", "The striker scores in the final minute"]


def test_a_precise_hit_next_to_eight_unrelated_moments_keeps_its_own_times(fresh: Engine) -> None:
    """The user's report: a caption's words found one hit stretched over the whole video. Eight
    unrelated moments touch the caption (1 s apart, inside the 2 s merge gap); the hit is the
    caption alone, at its own start and end, with its own uncertainty."""
    kinds = ["speech", "text", "event", "speech", "text", "event", "speech", "text"]
    specs, t = [], 0.0
    for i, (kind, words_) in enumerate(zip(kinds[:4], UNRELATED[:4])):
        specs.append(Spec(f"before{i}", kind, t, t + 1.5, words_))
        t += 2.5
    specs.append(Spec("caption", "text", 10.3, 12.7, "Invoice #4471 due 30 June",
                      {"start_uncertainty": 0.5, "end_uncertainty": 0.25}))
    t = 13.7
    for i, (kind, words_) in enumerate(zip(kinds[4:], UNRELATED[4:])):
        specs.append(Spec(f"after{i}", kind, t, t + 1.5, words_))
        t += 2.5
    ids = _write(fresh, {"slides": specs})
    hits = _search(fresh, "invoice 4471 due")
    assert len(hits) == 1
    hit = hits[0]
    assert hit.start == pytest.approx(10.3, abs=0.1) and hit.end == pytest.approx(12.7, abs=0.1)
    assert hit.moment_ids == [ids["caption"]] and hit.text == "Invoice #4471 due 30 June"
    assert (hit.start_uncertainty, hit.end_uncertainty) == (0.5, 0.25)
    as_json = hit.to_dict()
    assert (as_json["start"], as_json["end"], as_json["start_uncertainty"], as_json["end_uncertainty"]) == (10.3, 12.7, 0.5, 0.25)
    # a paraphrase (no word in common) finds it through the vectors, just as precisely
    assert _found(fresh, "when is the bill payable") == [("slides", 10.3, 12.7, [ids["caption"]])]


def test_two_adjacent_matching_moments_merge_into_their_union(fresh: Engine) -> None:
    """A caption split at a clip boundary (42.0-44.0 and 45.0-49.0): one hit from 42.0 to 49.0,
    the uncertainty of its first start and its last end; the unrelated neighbours stay out."""
    ids = _write(fresh, {"slides": [
        Spec("before", "text", 39.5, 41.5, "Half time"),
        Spec("first", "text", 42.0, 44.0, "Quarterly plan review at nine", {"start_uncertainty": 0.5, "end_uncertainty": 1.0}),
        Spec("second", "text", 45.0, 49.0, "Quarterly plan review at nine", {"start_uncertainty": 1.0, "end_uncertainty": 0.25}),
        Spec("after", "speech", 50.0, 52.0, "The goalkeeper dives to the left"),
    ]})
    hits = _search(fresh, "quarterly plan review")
    assert [(h.start, h.end, sorted(h.moment_ids), h.text) for h in hits] == [
        (42.0, 49.0, sorted([ids["first"], ids["second"]]), "Quarterly plan review at nine")]
    assert (hits[0].start_uncertainty, hits[0].end_uncertainty) == (0.5, 0.25)


@pytest.fixture()
def eval_archive(fresh: Engine) -> tuple[Engine, dict[str, int]]:
    """The calibration set's eight videos (tests/factories/moments.py) in the database."""
    return fresh, _write(fresh, EVAL_VIDEOS)


def test_a_query_that_matches_nothing_returns_nothing(eval_archive) -> None:  # type: ignore[no-untyped-def]
    """Before the floor, each of these returned 20 hits (the nearest vectors, however far)."""
    engine, _ = eval_archive
    for query in ["xylophone quantum", "purple giraffe banjo", "lorem ipsum dolor sit amet", "ballet dancers on stage"]:
        assert _search(engine, query) == [], query


def test_a_good_query_returns_its_right_hits_and_no_vector_junk(eval_archive) -> None:  # type: ignore[no-untyped-def]
    """Before the floor, each of these returned its right moment followed by 19 vector neighbours."""
    engine, ids = eval_archive
    start = {s.key: (s.start, s.end) for s in eval_specs()}
    for query, key, title in [("oven temperature", "cook1", "cooking"), ("checking blood pressure", "cli4", "clinic"),
                              ("avoid beer and wine", "cli2", "clinic"), ("penalty save", "foot3", "football")]:
        assert _found(engine, query) == [(title, *start[key], [ids[key]])], query


def test_search_on_the_evaluation_set_finds_what_is_relevant_and_little_else(eval_archive) -> None:  # type: ignore[no-untyped-def]
    """End to end (full text + vectors + floor + merging) on every query of the evaluation set:
    the numbers docs/search.md reports."""
    engine, ids = eval_archive
    key_of = {moment_id: key for key, moment_id in ids.items()}
    right = found_hits = labels = covered = 0
    for query, relevant_keys, _split in EVAL_QUERIES:
        hits = _search(engine, query, limit=20)
        keys = [{key_of[i] for i in h.moment_ids} for h in hits]
        found_hits += len(hits)
        right += sum(1 for k in keys if k & relevant_keys)
        labels += len(relevant_keys)
        covered += len(relevant_keys & set().union(*keys))
    precision, recall = right / found_hits, covered / labels
    empty = sum(1 for q, _ in NONSENSE_QUERIES if not _search(engine, q))
    assert precision >= 0.6 and recall >= 0.85, (precision, recall)
    # all but "origami paper crane folding": "crane" and "fold" are words of the archive, and the
    # two moments holding them are close enough in meaning (0.32, 0.36) to pass the floor
    assert empty == len(NONSENSE_QUERIES) - 1


def test_the_same_sentence_is_listed_once(fresh: Engine) -> None:
    """A chapter titled by the sentence spoken in it is that sentence twice: one hit, the speech,
    at its own time."""
    ids = _write(fresh, {"finance": [
        Spec("chapter", "chapter", 0.0, 60.0, "The marketing budget is approved."),
        Spec("speech", "speech", 12.0, 14.5, "the marketing budget is approved"),
        Spec("other", "chapter", 60.0, 120.0, "Hiring plans"),
    ]})
    hits = _search(fresh, "marketing budget approved")
    assert [(h.start, h.end, h.kind, h.kinds, sorted(h.moment_ids)) for h in hits] == [
        (12.0, 14.5, "speech", ["speech"], [ids["speech"]])]


def test_a_chapter_with_other_words_or_outside_the_moment_is_kept() -> None:
    speech = Hit(1, "a", 12.0, 14.5, "speech", "the budget is approved", [], 0.03, [1], ["speech"])
    same_elsewhere = Hit(1, "a", 60.0, 120.0, "chapter", "The budget is approved.", [], 0.02, [2], ["chapter"])
    titled_otherwise = Hit(1, "a", 0.0, 60.0, "chapter", "Budget talk", [], 0.02, [3], ["chapter"])
    cut_short = Hit(2, "b", 0.0, 60.0, "chapter", "The budget is appr…", [], 0.02, [4], ["chapter"])
    speech_b = Hit(2, "b", 5.0, 7.0, "speech", "The budget is approved", [], 0.01, [5], ["speech"])
    merged = merge_adjacent([speech, same_elsewhere, titled_otherwise, cut_short, speech_b])
    assert sorted((h.video_id, h.kind, h.start, tuple(h.moment_ids)) for h in merged) == [
        (1, "chapter", 0.0, (3,)), (1, "chapter", 60.0, (2,)), (1, "speech", 12.0, (1,)), (2, "speech", 5.0, (5,))]
    assert [h.score for h in merged if h.video_id == 2] == [0.02]  # the chapter's better score
    assert speech.moment_ids == [1] and speech_b.score == 0.01  # the hits given are left as they were


def test_a_chain_of_matches_never_becomes_one_hit_over_the_video() -> None:
    """The same caption matched every 3 s for 90 s: hits of at most MERGE_MAX_SECONDS, each the
    union of its own moments."""
    hits = [Hit(1, "a", 3.0 * i, 3.0 * i + 2.0, "text", "EXIT 12", [(0, 4), (5, 7)], 0.02, [i], ["text"]) for i in range(30)]
    merged = sorted(merge_adjacent(hits), key=lambda h: h.start)
    assert len(merged) > 1 and all(h.end - h.start <= MERGE_MAX_SECONDS for h in merged)
    assert [(h.start, h.end) for h in merged] == [(0.0, 29.0), (30.0, 59.0), (60.0, 89.0)]
    assert sorted(i for h in merged for i in h.moment_ids) == list(range(30))


def test_relevance_keeps_every_text_match_and_only_close_vector_neighbours() -> None:
    by_vector = [(1, 0.62), (2, 0.50), (3, 0.46), (4, 0.31), (5, 0.12)]
    # 0.62 - 0.15 = 0.47: 3 and 4 are too far below the best; 9 holds every word
    assert relevant([5, 9], [], by_vector) == {1, 2, 5, 9}
    assert relevant([], [], [(4, 0.31), (5, 0.12)]) == {4}  # the floor alone
    assert relevant([], [], [(5, 0.29)]) == set()
    assert relevant([7], [], []) == {7}
    # some of the words: kept when the embedding agrees (or cannot be asked), whatever the margin
    assert relevant([], [3, 5, 6, 8], by_vector, {6: 0.2, 8: 0.35}) == {1, 2, 3, 8}
    assert relevant([], [3, 5, 11], by_vector, {}) == {1, 2, 3, 11}
    assert relevant([], [6, 8], [], {}) == {6, 8}  # no query vector: the words are all there is


def test_uncertainty_comes_from_the_moment_meta() -> None:
    assert uncertainty({"start_uncertainty": 1.5}, "start_uncertainty") == 1.5
    assert uncertainty({"start_uncertainty": 2}, "start_uncertainty") == 2.0
    for meta in (None, {}, {"start_uncertainty": "1"}, {"start_uncertainty": -1.0}, {"start_uncertainty": float("nan")},
                 {"start_uncertainty": True}, [1.0]):
        assert uncertainty(meta, "start_uncertainty") == 0.0


def test_the_floor_is_the_one_calibrated_on_the_evaluation_set() -> None:
    """The vector side alone at the chosen floor and margin: no nonsense query of the calibration
    half keeps a candidate, and recall and precision are what docs/search.md reports."""
    calibration = relevance_sweep(_embedder(), [VECTOR_FLOOR], VECTOR_MARGIN, "calibration")[0]
    held_out = relevance_sweep(_embedder(), [VECTOR_FLOOR], VECTOR_MARGIN, "held-out")[0]
    assert calibration.nonsense_empty == 1.0
    assert calibration.recall >= 0.8 and calibration.precision >= 0.55, calibration
    assert held_out.recall >= 0.8 and held_out.precision >= 0.75, held_out
