"""A Celery worker inside the current process: what ``videoqa serve`` runs next to the web app and
what ``videoqa ingest --wait`` runs when no worker is alive in embedded mode.

It is the same Celery worker (same tasks, same broker, same acks and claims) with a thread pool
instead of forked children: a process that is both a command line and a worker cannot fork model
processes safely. Hard time limits need a pool that can kill; here the soft limit is all there is,
and a stuck task is recovered from the ledger when this process ends.
"""

from __future__ import annotations

import logging
import threading

from celery import Celery
from celery.app.trace import setup_worker_optimizations

from video_qa.pipeline import worker_name
from workers.app import QUEUES

log = logging.getLogger(__name__)


class EmbeddedWorker:
    def __init__(self, app: Celery, concurrency: int = 2, queues: tuple[str, ...] = QUEUES) -> None:
        self.app = app
        self.name = worker_name("embedded")
        self._controller = app.WorkController(
            pool_cls="threads", concurrency=concurrency, hostname=self.name, queues=list(queues),
            without_heartbeat=True, without_mingle=True, without_gossip=True, loglevel=logging.INFO,
        )
        self._thread: threading.Thread | None = None

    def start(self) -> EmbeddedWorker:
        # What `celery worker` does at start: the thread pool's tasks resolve through this app's
        # registry, not the default app's (which would not know the tasks).
        setup_worker_optimizations(self.app, self.name)
        self._thread = threading.Thread(target=self._controller.start, name="videoqa-embedded-worker", daemon=True)
        self._thread.start()
        log.info("embedded worker %s started", self.name)
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._controller.stop(in_sighandler=False)
        if self._thread is not None:
            self._thread.join(timeout)
        log.info("embedded worker %s stopped", self.name)

    def __enter__(self) -> EmbeddedWorker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
