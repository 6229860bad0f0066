"""``videoqa reindex``: train and write the database's vector index afresh."""

from __future__ import annotations

import argparse
import json
import time

from video_qa.config import Settings
from video_qa.migrate import prepare_database


def cmd_reindex(settings: Settings, args: argparse.Namespace) -> int:
    """Rebuild the persisted vector index from every embedded moment (``rebuild_index``): after a
    restore of the database, a change of the index's parameters, or to compact it. Running
    searches keep their generation until their next query, then map the new one."""
    from video_qa.search.index.build import rebuild_index
    from video_qa.search.index.generation import BUILD_AT
    from video_qa.search.index.location import index_folder

    engine = prepare_database(settings)
    folder = index_folder(engine, settings.index_dir)
    started = time.monotonic()
    built = rebuild_index(engine, folder)
    seconds = time.monotonic() - started
    if getattr(args, "json", False):
        print(json.dumps({"folder": str(folder) if folder else None, "seconds": round(seconds, 1), **(built or {})}))
        return 0
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
