"""``videoqa worker``, ``workers`` and ``serve``: the processes of a deployment."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading

from video_qa.config import Settings
from video_qa.db import unit_of_work
from video_qa.migrate import prepare_database
from video_qa.pipeline import live_workers, worker_name
from workers.app import QUEUES, make_celery
from workers.embedded import EmbeddedWorker

log = logging.getLogger(__name__)

EXPORT_NICENESS = 10  # the background export of the query model yields the CPU to serving and ingest


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
    from web.server import serve

    prepare_database(settings)
    worker = None
    if settings.embedded_broker and not args.no_worker:
        worker = EmbeddedWorker(make_celery(settings), concurrency=args.concurrency).start()
        export_query_model_meanwhile(settings)
    try:
        serve(settings)
    finally:
        if worker is not None:
            worker.stop()
    return 0


def export_query_model_meanwhile(settings: Settings) -> threading.Thread | None:
    """In a process that runs a worker (and so loads PyTorch anyway): export the text-embedding
    model for the light query path in a background thread when the data folder holds no valid
    export, so that searches (here and in every other process) need no PyTorch. None when there is
    nothing to do."""
    from model.embeddings.folder import check_export, export_folder
    from video_qa.analyzers import embed_source, export_embedder

    source = embed_source(settings)
    if source.kind == "off" or not source.available:
        return None
    why = check_export(export_folder(settings.models_dir, source.location), source.location)
    if why is None:
        return None
    log.info("exporting the query model in the background (%s)", why)

    def export() -> None:
        try:  # this thread only (Linux: a thread id is a process id to setpriority): serving comes first
            me = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, me, min(19, os.getpriority(os.PRIO_PROCESS, me) + EXPORT_NICENESS))
        except (AttributeError, OSError):
            pass  # not Linux, or not allowed: at the normal priority
        try:
            export_embedder(settings)
        except (OSError, ValueError) as error:  # a full disk, a graph whose checksum is wrong
            log.error("the query model export failed: %s", error)

    thread = threading.Thread(target=export, name="query-model-export", daemon=True)
    thread.start()
    return thread
