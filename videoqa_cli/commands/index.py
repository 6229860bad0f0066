"""``videoqa reindex``: train and write the database's vector indexes afresh (the text space's and
each visual space's), and bring a PostgreSQL archive's words index up to the database."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from sqlalchemy import Engine

from video_qa.config import Settings
from video_qa.migrate import prepare_database


def _reindex_words(engine: Engine, settings: Settings) -> dict[str, Any] | None:
    """A PostgreSQL archive's words index brought up to the database and every id checked
    (``sync.reconcile``); None on SQLite (its full text is FTS5's, in the database) or with
    ``VIDEOQA_WORDS_INDEX=false``."""
    from video_qa.search.words import sync
    from video_qa.search.words.store import words_folder

    wanted = engine.dialect.name == "postgresql" and settings.words_index
    folder = words_folder(engine, settings.index_dir) if wanted else None
    if folder is None:
        return None
    started = time.monotonic()
    figures = sync.reconcile(engine, folder)
    if figures is None:
        raise SystemExit(f"words index {folder}: another writer holds it; run reindex again when it has finished")
    return {**figures, "folder": str(folder), "seconds": round(time.monotonic() - started, 1)}


def _report_words(words: dict[str, Any] | None, as_json: bool) -> int:
    if as_json:
        print(json.dumps({"words": words}))
    elif words is None:
        print("words index: none (SQLite's full text is FTS5's, in the database; on PostgreSQL: VIDEOQA_WORDS_INDEX=false)")
    else:
        print(f"words index: {words['rows']:,} moments, {words['added']:,} added, {words['late'] + words['missing']:,} "
              f"missing ones added, {words['deleted']:,} deleted, in {words['seconds']:.1f} s ({words['folder']})")
    return 0


def cmd_reindex(settings: Settings, args: argparse.Namespace) -> int:
    """Rebuild the persisted vector index from every embedded moment (``rebuild_index``), then each
    visual space's from its image vectors: after a restore of the database, a change of the
    index's parameters, or to compact it. Running searches keep their generation until their next
    query, then map the new one."""
    from sqlalchemy.orm import Session

    from video_qa.search.index.build import rebuild_index
    from video_qa.search.index.generation import BUILD_AT
    from video_qa.search.index.location import index_folder
    from video_qa.search.index.rows import visual_models
    from video_qa.search.index.space import visual_space

    engine = prepare_database(settings)
    if getattr(args, "words_only", False):
        return _report_words(_reindex_words(engine, settings), getattr(args, "json", False))
    folder = index_folder(engine, settings.index_dir)
    started = time.monotonic()
    built = rebuild_index(engine, folder)
    seconds = time.monotonic() - started
    with Session(engine) as session:
        models = visual_models(session)
    visual = []
    for model in models:
        space = visual_space(model)
        space_folder = index_folder(engine, settings.index_dir, space)
        at = time.monotonic()
        figures = rebuild_index(engine, space_folder, space) or {}
        visual.append({"model": model, "folder": str(space_folder) if space_folder else None,
                       "seconds": round(time.monotonic() - at, 1), **figures})
    words = _reindex_words(engine, settings)
    if getattr(args, "json", False):
        print(json.dumps({"folder": str(folder) if folder else None, "seconds": round(seconds, 1), **(built or {}),
                          "visual": visual, "words": words}))
        return 0
    if words is not None:
        _report_words(words, False)
    for v in visual:
        state = (f"generation {v['generation']}" if v.get("generation") else
                 f"too few for an index (from {BUILD_AT:,}), searched exactly")
        print(f"visual index of {v['model']}: {v.get('count', 0):,} image vectors, {state}")
    if built is None:
        print("no embedded moments: nothing to index" if folder is not None else "in-memory database: no index kept")
        return 0
    if built["generation"] == 0:
        print(f"{built['count']:,} embedded moments: too few for an index (from {BUILD_AT:,}), searched exactly; "
              "no index file kept")
        return 0
    print(f"vector index rebuilt: {built['count']:,} moments, generation {built['generation']}, "
          f"in {seconds:.1f} s ({folder})")
    return 0
