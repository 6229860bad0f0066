"""The worker-facing commands of ``videoqa``: ingest, worker, serve, workers.

``video_qa.cli`` builds the parser and calls these handlers; they are here because they start
Celery workers, which live in this package.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time

from sqlalchemy import Engine

from video_qa.config import Settings
from video_qa.db import unit_of_work
from video_qa.migrate import prepare_database
from video_qa.models import VideoStatus
from video_qa.pipeline import Status, request_ingest, video_status
from video_qa.recovery import live_workers, worker_name
from video_qa.registry import RegistrationRefused, expand, register_file
from workers.app import QUEUES, make_celery, send_items
from workers.embedded import EmbeddedWorker

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5
BAR_WIDTH = 30


def _any_worker_alive(engine: Engine, settings: Settings) -> bool:
    with unit_of_work(engine) as session:
        return bool(live_workers(session, settings))


def _statuses(engine: Engine, ids: list[int]) -> list[Status]:
    with unit_of_work(engine) as session:
        return [video_status(session, i) for i in ids]


def _finished(status: Status) -> bool:
    return status.status in (VideoStatus.ready.value, VideoStatus.failed.value)


class ProgressLine:
    """One line per video on a terminal, redrawn in place; nothing when not a terminal."""

    def __init__(self, stream: object = sys.stderr) -> None:
        self.stream = stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.drawn = 0

    def draw(self, statuses: list[Status]) -> None:
        if not self.tty:
            return
        out = self.stream
        if self.drawn:
            out.write(f"\x1b[{self.drawn}F")  # type: ignore[attr-defined]
        for s in statuses:
            filled = int(round(s.progress * BAR_WIDTH))
            bar = "#" * filled + "-" * (BAR_WIDTH - filled)
            out.write(f"\x1b[2K[{bar}] {s.progress * 100:5.1f}%  {s.stage:<10} {s.title}\n")  # type: ignore[attr-defined]
        out.flush()  # type: ignore[attr-defined]
        self.drawn = len(statuses)


def cmd_ingest(settings: Settings, args: argparse.Namespace) -> int:
    engine = prepare_database(settings)
    files, refused = expand(args.paths, settings)
    ids: list[int] = []
    duplicates: set[int] = set()
    to_send = []
    for path in files:
        try:
            with unit_of_work(engine) as session:
                reg = register_file(session, path, settings)
                if reg.video_id in ids:
                    continue
                _, refs = request_ingest(session, reg.video_id, settings)
        except RegistrationRefused as error:
            refused.append(error)
            continue
        ids.append(reg.video_id)
        to_send += refs
        if reg.duplicate:
            duplicates.add(reg.video_id)
    for error in refused:
        print(f"refused: {error.path}: {error.reason}", file=sys.stderr)
    app = make_celery(settings)
    send_items(app, to_send)

    worker: EmbeddedWorker | None = None
    if args.wait and ids:
        told = False
        bar = ProgressLine()
        try:
            while True:
                if worker is None and not _any_worker_alive(engine, settings):
                    if settings.embedded_broker:
                        log.info("no worker is running: working in this process")
                        worker = EmbeddedWorker(app, concurrency=args.concurrency).start()
                    elif not told:
                        print("waiting for a worker: start one with `videoqa worker`", file=sys.stderr)
                        told = True
                statuses = _statuses(engine, ids)
                bar.draw(statuses)
                if all(_finished(s) for s in statuses):
                    break
                time.sleep(POLL_SECONDS)
        finally:
            if worker is not None:
                worker.stop()
    statuses = _statuses(engine, ids)
    rows = [{"id": s.video_id, "path": s.path, "status": s.status, "error": s.error,
             "duplicate": s.video_id in duplicates} for s in statuses]
    rows += [{"id": None, "path": e.path, "status": "refused", "error": e.reason, "duplicate": False} for e in refused]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for s in statuses:
            note = " (already registered)" if s.video_id in duplicates else ""
            print(f"{s.video_id:>5}  {s.status:<10}  {s.path}{note}")
            if s.error:
                print(f"       reason: {s.error}")
    failed = any(s.status == VideoStatus.failed.value for s in statuses)
    return 1 if refused or (args.wait and failed) else 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    prepare_database(settings)
    queues = [q.strip() for q in args.queues.split(",") if q.strip()]
    unknown = sorted(set(queues) - set(QUEUES))
    if unknown:
        print(f"error: unknown queue(s) {', '.join(unknown)}; use {', '.join(QUEUES)}", file=sys.stderr)
        return 2
    app = make_celery(settings)
    worker = app.Worker(
        hostname=worker_name(args.name), queues=queues, concurrency=args.concurrency, pool=args.pool,
        loglevel=settings.log_level, without_heartbeat=True, without_mingle=True, without_gossip=True,
    )
    worker.start()
    return int(worker.exitcode or 0)


def cmd_workers(settings: Settings, args: argparse.Namespace) -> int:
    """Live workers from their heartbeats; exit 1 when none (a health check)."""
    engine = prepare_database(settings)
    with unit_of_work(engine) as session:
        rows = [{"name": w.name, "queues": w.queues, "pid": w.pid, "embedded": w.embedded,
                 "heartbeat_at": w.heartbeat_at.isoformat()} for w in live_workers(session, settings)
                if args.queue is None or args.queue in w.queues.split(",")]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            print(f"{r['name']:<40} queues {r['queues']:<8} last seen {r['heartbeat_at']}")
        if not rows:
            print("no live worker" + (f" taking the {args.queue} queue" if args.queue else ""), file=sys.stderr)
    return 0 if rows else 1


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    """The web app and the JSON API; in embedded mode also a worker inside this process."""
    prepare_database(settings)
    worker = None
    if settings.embedded_broker and not args.no_worker:
        worker = EmbeddedWorker(make_celery(settings), concurrency=args.concurrency).start()
    try:
        from web.server import serve

        serve(settings)
    finally:
        if worker is not None:
            worker.stop()
    return 0

