"""``videoqa reindex``: train and write the database's vector indexes afresh (the text space's and
each visual space's)."""

from __future__ import annotations

import argparse
import json
import time

from video_qa.config import Settings
from video_qa.migrate import prepare_database


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
    if getattr(args, "json", False):
        print(json.dumps({"folder": str(folder) if folder else None, "seconds": round(seconds, 1), **(built or {}),
                          "visual": visual}))
        return 0
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
