"""``videoqa ingest``: register files and folders, queue their analysis, and with --wait follow it
(one tqdm bar per video on a terminal; in embedded mode with no worker, the work runs here)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time

from sqlalchemy import Engine
from tqdm import tqdm

from video_qa.config import Settings
from video_qa.db import unit_of_work
from video_qa.migrate import prepare_database
from video_qa.models import VideoStatus
from video_qa.pipeline import ItemRef, Status, live_workers, video_status
from video_qa.registry import allowed_roots
from video_qa.services.intake import register_paths
from video_qa.services.videos import get_video, video_dict
from workers.app import make_celery, send_items
from workers.embedded import EmbeddedWorker

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5
FINISHED = (VideoStatus.ready.value, VideoStatus.failed.value)


def _any_worker_alive(engine: Engine, settings: Settings) -> bool:
    with unit_of_work(engine) as session:
        return bool(live_workers(session, settings))


def _statuses(engine: Engine, ids: list[int]) -> list[Status]:
    with unit_of_work(engine) as session:
        return [video_status(session, i) for i in ids]


def _notices(engine: Engine, statuses: list[Status]) -> dict[int, str | None]:
    """Each video's notice as ``videoqa videos`` and the web app show it (``video_dict``: e.g.
    ``truncated: 44.5 s of 75 s readable``), None where there is nothing to say."""
    with unit_of_work(engine) as session:
        return {s.video_id: video_dict(session, get_video(session, s.video_id), check_disk=False, status=s)["notice"]
                for s in statuses}


class Progress:
    """One tqdm bar per video (percent of its work done, its stage, its title), on stderr; tqdm
    draws nothing when stderr is not a terminal."""

    def __init__(self, statuses: list[Status]) -> None:
        self.bars = [tqdm(total=100, position=i, file=sys.stderr, disable=None, leave=True,
                          bar_format="|{bar:30}| {percentage:5.1f}%  {desc}") for i, _ in enumerate(statuses)]
        self.update(statuses)

    def update(self, statuses: list[Status]) -> None:
        for bar, s in zip(self.bars, statuses):
            bar.n = round(s.progress * 100, 1)
            bar.set_description_str(f"{s.status if s.status in FINISHED else s.stage:<10} {s.title}", refresh=False)
            bar.refresh()

    def close(self) -> None:
        for bar in self.bars:
            bar.close()


def _follow(engine: Engine, settings: Settings, app: object, ids: list[int], concurrency: int) -> None:
    """Until every video is ready or failed; starts a worker here when none is alive and the broker
    is embedded."""
    worker: EmbeddedWorker | None = None
    told = False
    progress = Progress(_statuses(engine, ids))
    try:
        while True:
            if worker is None and not _any_worker_alive(engine, settings):
                if settings.embedded_broker:
                    log.info("no worker is running: working in this process")
                    worker = EmbeddedWorker(app, concurrency=concurrency).start()
                elif not told:
                    print("waiting for a worker: start one with `videoqa worker`", file=sys.stderr)
                    told = True
            statuses = _statuses(engine, ids)
            progress.update(statuses)
            if all(s.status in FINISHED for s in statuses):
                break
            time.sleep(POLL_SECONDS)
    finally:
        progress.close()
        if worker is not None:
            worker.stop()


def cmd_ingest(settings: Settings, args: argparse.Namespace) -> int:
    engine = prepare_database(settings)
    app = make_celery(settings)

    def send(refs: list[ItemRef]) -> None:
        send_items(app, refs)

    intake = register_paths(engine, settings, send, args.paths)
    for error in intake.refused:
        print(f"refused: {error.path}: {error.reason}", file=sys.stderr)
    if any(error.outside for error in intake.refused):
        print(f"allowed folders: {', '.join(str(r) for r in allowed_roots(settings))}", file=sys.stderr)
    ids = intake.video_ids
    queued = [s.video_id for s in _statuses(engine, ids) if s.status not in FINISHED]  # a broken file failed at once
    if args.wait and queued:
        _follow(engine, settings, app, ids, args.concurrency)
    elif queued and not _any_worker_alive(engine, settings):
        print("queued, but no worker is running: the videos wait until `videoqa serve` or `videoqa worker` "
              "starts (or run this command again with --wait)", file=sys.stderr)
    statuses = _statuses(engine, ids)
    notices = _notices(engine, statuses)
    rows = [{"id": s.video_id, "path": s.path, "status": s.status, "error": s.error, "notice": notices[s.video_id],
             "duplicate": s.video_id in intake.duplicates} for s in statuses]
    rows += [{"id": None, "path": e.path, "status": "refused", "error": e.reason, "notice": None, "duplicate": False}
             for e in intake.refused]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for s in statuses:
            note = " (already registered)" if s.video_id in intake.duplicates else ""
            print(f"{s.video_id:>5}  {s.status:<10}  {s.path}{note}")
            if s.error:
                print(f"       reason: {s.error}")
            if notices[s.video_id]:
                print(f"       {notices[s.video_id]}")
    failed = any(s.status == VideoStatus.failed.value for s in statuses)
    return 1 if intake.refused or failed else 0
