"""Worker liveness and recovery: nothing a dead worker held is lost.

Every worker writes a heartbeat row every ``worker_heartbeat`` seconds. ``recover`` (run by every
worker at start and then periodically) finds:

- items ``running`` under a worker that has been silent for ``worker_stale_after`` seconds (killed,
  machine lost), or started longer ago than the hard task time limit: queued again, unless that has happened ``MAX_TAKEOVERS`` times (then the item
  fails: something in it kills workers);
- items ``queued`` for longer than ``requeue_after`` (a message lost with a broker restart, or
  taken by a consumer that died before claiming it): sent again;
- ``finalize`` still waiting although every clip item is done: queued.

Each change is one conditional UPDATE, so several workers recovering at once send an item at most
once each, and the claim in ``pipeline.claim`` makes any duplicate message harmless.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, or_, select, update

from video_qa.config import Settings
from video_qa.db import unit_of_work
from video_qa.models import ItemPart, ItemStatus, WorkerProcess, WorkItem, utcnow
from video_qa.pipeline import MAX_TAKEOVERS, ItemRef, live_workers, _queue_finalize_if_complete, record_failure

log = logging.getLogger(__name__)


def worker_name(prefix: str = "videoqa") -> str:
    return f"{prefix}-{os.getpid()}@{socket.gethostname()}"


def heartbeat(engine: Engine, name: str, queues: str, embedded: bool) -> None:
    now = utcnow()
    with unit_of_work(engine) as session:
        row = session.get(WorkerProcess, name)
        if row is None:
            session.add(WorkerProcess(name=name, hostname=socket.gethostname(), pid=os.getpid(), queues=queues,
                                      embedded=embedded, started_at=now, heartbeat_at=now))
        else:
            row.heartbeat_at = now


def forget_worker(engine: Engine, name: str) -> None:
    with unit_of_work(engine) as session:
        session.execute(delete(WorkerProcess).where(WorkerProcess.name == name))


def recover(engine: Engine, settings: Settings, now: datetime | None = None) -> list[ItemRef]:
    """Repair the ledger; returns the items to send (after this function's commits)."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=settings.worker_stale_after)
    overdue = now - timedelta(seconds=settings.task_time_limit + 120)  # no task outlives its hard limit
    send: list[ItemRef] = []
    poisoned: list[tuple[ItemRef, int, str | None]] = []
    with unit_of_work(engine) as session:
        live = select(WorkerProcess.name).where(WorkerProcess.heartbeat_at >= cutoff)
        orphaned = session.execute(
            select(WorkItem.id, WorkItem.video_id, WorkItem.clip_index, WorkItem.part, WorkItem.worker, WorkItem.attempts)
            .where(WorkItem.status == ItemStatus.running.value,
                   or_(WorkItem.worker.is_(None), WorkItem.worker.not_in(live), WorkItem.started_at < overdue))
        ).all()
        for item_id, video_id, clip_index, part, worker, attempts in orphaned:
            ref = ItemRef(video_id, clip_index, part)
            if attempts >= MAX_TAKEOVERS:
                poisoned.append((ref, attempts, worker))
                continue
            moved = session.execute(
                update(WorkItem)
                .where(WorkItem.id == item_id, WorkItem.status == ItemStatus.running.value,
                       WorkItem.worker.is_(None) if worker is None else WorkItem.worker == worker)
                .values(status=ItemStatus.queued.value, queued_at=now, worker=None)
                .execution_options(synchronize_session=False)
            ).rowcount
            if moved:
                log.warning("%s: its worker %s stopped answering; sent again", ref.label(), worker)
                send.append(ref)
        stale_queue = now - timedelta(seconds=settings.requeue_after)
        lost = session.execute(
            select(WorkItem.id, WorkItem.video_id, WorkItem.clip_index, WorkItem.part)
            .where(WorkItem.status == ItemStatus.queued.value,
                   or_(WorkItem.queued_at.is_(None), WorkItem.queued_at < stale_queue))
        ).all()
        for item_id, video_id, clip_index, part in lost:
            moved = session.execute(
                update(WorkItem)
                .where(WorkItem.id == item_id, WorkItem.status == ItemStatus.queued.value,
                       or_(WorkItem.queued_at.is_(None), WorkItem.queued_at < stale_queue))
                .values(queued_at=now)
                .execution_options(synchronize_session=False)
            ).rowcount
            if moved:
                ref = ItemRef(video_id, clip_index, part)
                log.warning("%s: queued for over %.0f s without starting; sent again", ref.label(), settings.requeue_after)
                send.append(ref)
        waiting = session.scalars(
            select(WorkItem.video_id).where(WorkItem.part == ItemPart.finalize.value,
                                            WorkItem.status == ItemStatus.waiting.value)
        ).all()
        for video_id in waiting:
            send += _queue_finalize_if_complete(session, video_id)
        session.execute(delete(WorkerProcess).where(
            WorkerProcess.heartbeat_at < now - timedelta(seconds=10 * settings.worker_stale_after)))
    for ref, attempts, worker in poisoned:
        record_failure(engine, ref, f"{ref.part} of clip {ref.clip_index} was started {attempts} times and its worker "
                                    f"died each time (last: {worker}); not retried again")
    return send


__all__ = ["forget_worker", "heartbeat", "live_workers", "recover", "worker_name"]
