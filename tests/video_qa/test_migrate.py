"""Migrations up/down/up on both databases, and the migrated schema equals the models."""

from __future__ import annotations

import json

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from video_qa import migrate
from video_qa.config import load_settings
from video_qa.db import make_engine
from video_qa.models import Base, is_search_object

TABLES = {"videos", "jobs", "clips", "moments", "moment_embeddings", "visual_embeddings", "work_items", "workers",
          "questions"}


@pytest.fixture(params=["sqlite", "postgresql"])
def blank_url(request: pytest.FixtureRequest, tmp_path, pg_database_url: str):  # type: ignore[no-untyped-def]
    """An empty database of each kind (a separate schema-free database, not the shared one)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'blank.db'}"
        return
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    admin = create_engine(pg_database_url, isolation_level="AUTOCOMMIT")
    name = make_url(pg_database_url).database + "_blank"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(pg_database_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return {t for t in inspect(engine).get_table_names() if not is_search_object(t)} - {"alembic_version"}
    finally:
        engine.dispose()


def test_embeddings_move_to_their_own_table_and_back(blank_url: str) -> None:
    """0004 -> 0005 copies each moment's embedding into moment_embeddings by value and drops the
    column (full-text search still finds the moment on SQLite: its triggers survived); 0005 -> 0004
    puts them back."""
    migrate.upgrade(blank_url, "0004_stored_tsvector")
    vector = bytes(range(256)) * 6
    engine = make_engine(blank_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO videos (id, title, path, sha256, size, status, created_at, updated_at) "
                              "VALUES (1, 't', '/x.mp4', :h, 1, 'ready', :now, :now)"),
                         {"h": "a" * 64, "now": "2026-11-23 00:00:00+00:00"})
            conn.execute(text('INSERT INTO moments (id, video_id, clip_index, kind, seq, start, "end", text, embedding) '
                              "VALUES (7, 1, 0, 'speech', 0, 1.0, 2.0, 'harbour pilot', :e), "
                              "(8, 1, 0, 'speech', 1, 3.0, 4.0, 'no vector', NULL)"), {"e": vector})
        migrate.upgrade(blank_url)
        with engine.begin() as conn:
            assert conn.execute(text("SELECT moment_id, embedding FROM moment_embeddings")).all() == [(7, vector)]
            assert "embedding" not in {c["name"] for c in inspect(conn).get_columns("moments")}
            conn.execute(text("DELETE FROM moments WHERE id = 7"))
            assert conn.execute(text("SELECT count(*) FROM moment_embeddings")).scalar() == 0
            conn.execute(text('INSERT INTO moments (id, video_id, clip_index, kind, seq, start, "end", text) '
                              "VALUES (9, 1, 0, 'speech', 2, 5.0, 6.0, 'harbour pilot')"))
            conn.execute(text("INSERT INTO moment_embeddings (moment_id, embedding) VALUES (9, :e)"), {"e": vector})
            if engine.dialect.name == "sqlite":
                found = conn.execute(text("SELECT rowid FROM moments_fts WHERE moments_fts MATCH 'pilot'")).all()
            else:
                found = conn.execute(text("SELECT id FROM moments WHERE text_tsv @@ to_tsquery('english', 'pilot')")).all()
            assert [r[0] for r in found] == [9]
        migrate.downgrade(blank_url, "0004_stored_tsvector")
        with engine.begin() as conn:
            assert conn.execute(text("SELECT id, embedding FROM moments ORDER BY id")).all() == [(8, None), (9, vector)]
    finally:
        engine.dispose()


def test_up_down_up(blank_url: str) -> None:
    migrate.upgrade(blank_url)
    assert _tables(blank_url) == TABLES
    migrate.downgrade(blank_url, "base")
    assert _tables(blank_url) == set()
    migrate.upgrade(blank_url)
    assert _tables(blank_url) == TABLES
    engine = make_engine(blank_url)
    try:
        assert migrate.current_revision(engine) == migrate.head_revision(blank_url)
    finally:
        engine.dispose()


def test_migrated_schema_matches_models(migrated_url: str) -> None:
    engine = make_engine(migrated_url)
    try:
        with engine.connect() as conn:
            opts = {"compare_type": True, "include_name": lambda name, type_, parent: not is_search_object(name)}
            diff = compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_embedded_default_migrates_itself() -> None:
    settings = load_settings()
    engine = migrate.prepare_database(settings)
    assert migrate.current_revision(engine) == migrate.head_revision(settings.resolved_database_url)


def test_server_database_must_be_migrated(blank_url: str) -> None:
    settings = load_settings(database_url=blank_url)
    with pytest.raises(migrate.SchemaOutOfDate, match="videoqa migrate"):
        migrate.prepare_database(settings)


def test_0006_keeps_rows_counts_no_takeovers_and_marks_old_answers_done(blank_url: str) -> None:
    """Rows written before 0006: a work item has taken over nothing, a stored answer is ``done``,
    a question's status is one of the four; jobs lose task_id and attempts (and get them back)."""
    migrate.upgrade(blank_url, "0005_moment_embeddings")
    engine = make_engine(blank_url)
    now = "2026-11-23 00:00:00+00:00"
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO videos (id, title, path, sha256, size, status, created_at, updated_at) "
                              "VALUES (1, 't', '/x.mp4', :h, 1, 'ready', :now, :now)"), {"h": "a" * 64, "now": now})
            conn.execute(text("INSERT INTO jobs (id, video_id, status, stage, progress, attempts, task_id, "
                              "created_at, updated_at) VALUES (4, 1, 'done', 'done', 1.0, 1, NULL, :now, :now)"),
                         {"now": now})
            conn.execute(text("INSERT INTO work_items (id, video_id, clip_index, part, status, attempts) "
                              "VALUES (5, 1, -1, 'ingest', 'done', 7)"))
            conn.execute(text("INSERT INTO questions (id, video_id, question, answer, moments, created_at) "
                              "VALUES (6, 1, 'who?', 'the pilot', '[{\"start\": 1.5}]', :now)"), {"now": now})
        migrate.upgrade(blank_url)
        with engine.begin() as conn:
            assert conn.execute(text("SELECT attempts, takeovers FROM work_items")).all() == [(7, 0)]
            assert conn.execute(text("SELECT status, error, started_at, finished_at, meta FROM questions")).all() == [
                ("done", None, None, None, None)]
            assert {c["name"] for c in inspect(conn).get_columns("jobs")} & {"task_id", "attempts"} == set()
            assert conn.execute(text("SELECT file_mtime FROM videos")).all() == [(None,)]
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text("UPDATE questions SET status = 'lost'"))
        with engine.begin() as conn:  # the moments a question cited are untouched
            assert "1.5" in str(conn.execute(text("SELECT moments FROM questions")).scalar())
        migrate.downgrade(blank_url, "0005_moment_embeddings")
        with engine.begin() as conn:
            assert conn.execute(text("SELECT id, attempts, task_id FROM jobs")).all() == [(4, 1, None)]
            assert conn.execute(text("SELECT question, answer FROM questions")).all() == [("who?", "the pilot")]
            assert conn.execute(text("SELECT count(*) FROM videos")).scalar() == 1
    finally:
        engine.dispose()


def _json(value: object) -> object:
    """A JSON column's value read with ``text()``: SQLite gives the text, PostgreSQL the value."""
    return json.loads(value) if isinstance(value, str) else value


def test_0007_moves_scene_cuts_from_the_items_stats_onto_their_clips_and_back(blank_url: str) -> None:
    """A hear_read item's ``stats["cuts"]`` become its clip's ``scene_cuts`` by value (the stats
    keep their seconds and counts); a clip without an item's cuts has none; downgrading puts them
    back into the stats."""
    migrate.upgrade(blank_url, "0006_takeovers_questions_mtime")
    engine = make_engine(blank_url)
    now = "2026-11-23 00:00:00+00:00"
    stats = {"seconds": {"read": 1.5}, "speech": 2, "cuts": [[14.0, 2.0], [28.0, 2.0]], "reading": {"samples": 20}}
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO videos (id, title, path, sha256, size, status, created_at, updated_at) "
                              "VALUES (1, 't', '/x.mp4', :h, 1, 'ready', :now, :now)"), {"h": "a" * 64, "now": now})
            conn.execute(text('INSERT INTO clips (id, video_id, "index", start, "end", sample_fps, frames, status) '
                              "VALUES (3, 1, 0, 0.0, 45.0, 0.5, 22, 'done'), (4, 1, 1, 45.0, 90.0, 0.5, 22, 'done')"))
            conn.execute(text("INSERT INTO work_items (id, video_id, clip_index, part, status, attempts, stats) "
                              "VALUES (5, 1, 0, 'hear_read', 'done', 1, :s), (6, 1, 1, 'hear_read', 'done', 1, NULL), "
                              "(7, 1, -1, 'ingest', 'done', 1, :i)"),
                         {"s": json.dumps(stats), "i": json.dumps({"clips": 2})})
        migrate.upgrade(blank_url)
        with engine.begin() as conn:
            clips = conn.execute(text("SELECT id, scene_cuts FROM clips ORDER BY id")).all()
            assert [(i, _json(c)) for i, c in clips] == [
                (3, [[14.0, 2.0], [28.0, 2.0]]), (4, None)]
            kept = conn.execute(text("SELECT id, stats FROM work_items ORDER BY id")).all()
            assert [(i, _json(s)) for i, s in kept] == [
                (5, {"seconds": {"read": 1.5}, "speech": 2, "reading": {"samples": 20}}), (6, None), (7, {"clips": 2})]
        migrate.downgrade(blank_url, "0006_takeovers_questions_mtime")
        with engine.begin() as conn:
            assert "scene_cuts" not in {c["name"] for c in inspect(conn).get_columns("clips")}
            back = conn.execute(text("SELECT id, stats FROM work_items ORDER BY id")).all()
            assert [(i, _json(s)) for i, s in back] == [
                (5, stats), (6, None), (7, {"clips": 2})]
            assert conn.execute(text("SELECT count(*) FROM clips")).scalar() == 2
    finally:
        engine.dispose()


def test_0008_visual_kind_look_part_and_image_vectors(blank_url: str) -> None:
    """0007 -> 0008: rows and full-text search are untouched; a ``visual`` moment and a ``look`` item
    are accepted (another kind still refused), its image vector is kept and deleted with it; 0008 ->
    0007 deletes the visual moments and look items and refuses the kind again."""
    migrate.upgrade(blank_url, "0007_clip_scene_cuts")
    engine = make_engine(blank_url)
    now = "2026-12-08 00:00:00+00:00"
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO videos (id, title, path, sha256, size, status, created_at, updated_at) "
                              "VALUES (1, 't', '/x.mp4', :h, 1, 'ready', :now, :now)"), {"h": "a" * 64, "now": now})
            conn.execute(text('INSERT INTO moments (id, video_id, clip_index, kind, seq, start, "end", text) '
                              "VALUES (7, 1, 0, 'speech', 0, 1.0, 2.0, 'harbour pilot')"))
        migrate.upgrade(blank_url)
        vector = bytes(range(64)) * 2
        with engine.begin() as conn:
            conn.execute(text('INSERT INTO moments (id, video_id, clip_index, kind, seq, start, "end", text) '
                              "VALUES (8, 1, 0, 'visual', 0, 0.0, 4.0, 'Samoyed; dog')"))
            conn.execute(text("INSERT INTO visual_embeddings (moment_id, model, dim, embedding) "
                              "VALUES (8, 'twin', 32, :e)"), {"e": vector})
            conn.execute(text("INSERT INTO work_items (id, video_id, clip_index, part, status, attempts) "
                              "VALUES (5, 1, 0, 'look', 'queued', 0)"))
            assert conn.execute(text("SELECT model, dim, embedding FROM visual_embeddings")).all() == [("twin", 32, vector)]
            if engine.dialect.name == "sqlite":
                assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
                found = conn.execute(text("SELECT rowid FROM moments_fts WHERE moments_fts MATCH 'pilot OR dog' "
                                          "ORDER BY rowid")).all()
            else:
                found = conn.execute(text("SELECT id FROM moments WHERE text_tsv @@ to_tsquery('english', 'pilot | dog') "
                                          "ORDER BY id")).all()
            assert [r[0] for r in found] == [7, 8]
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text('INSERT INTO moments (video_id, clip_index, kind, seq, start, "end", text) '
                              "VALUES (1, 0, 'smell', 0, 0.0, 1.0, '')"))
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text("INSERT INTO work_items (video_id, clip_index, part, status, attempts) "
                              "VALUES (1, 1, 'sniff', 'queued', 0)"))
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM moments WHERE id = 8"))
            assert conn.execute(text("SELECT count(*) FROM visual_embeddings")).scalar() == 0
            conn.execute(text('INSERT INTO moments (id, video_id, clip_index, kind, seq, start, "end", text) '
                              "VALUES (9, 1, 0, 'visual', 0, 0.0, 4.0, '')"))
        migrate.downgrade(blank_url, "0007_clip_scene_cuts")
        with engine.begin() as conn:
            assert conn.execute(text("SELECT id, kind FROM moments")).all() == [(7, "speech")]
            assert conn.execute(text("SELECT count(*) FROM work_items")).scalar() == 0
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text('INSERT INTO moments (video_id, clip_index, kind, seq, start, "end", text) '
                              "VALUES (1, 0, 'visual', 1, 0.0, 1.0, '')"))
    finally:
        engine.dispose()
