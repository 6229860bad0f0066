"""Recovery: nothing a dead worker held is lost.

Every worker writes a heartbeat row every ``worker_heartbeat`` seconds (``liveness``). ``recover``
(run by every worker at start and then periodically) finds:

- items ``running`` under a worker that is not live (``liveness.live_worker_names``: silent for
  ``worker_stale_after`` seconds, or its process gone on this machine), or started longer ago than
  the hard task time limit: queued again, a takeover counted (``ledger`` explains the count);
  an item already taken over ``MAX_TAKEOVERS`` times fails instead (something in it kills workers);
- items ``queued`` for longer than ``requeue_after`` (a message lost with a broker restart, or
  taken by a consumer that died before claiming it): sent again;
- ``finalize`` still waiting although every clip item is done: queued.

Each change is one conditional UPDATE, so several workers recovering at once send an item at most
once each, and the claim in ``ledger.claim`` makes any duplicate message harmless.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, or_, select, update
from sqlalchemy.orm import Session

from video_qa.config import Settings
from video_qa.db import unit_of_work
from video_qa.models import ItemPart, ItemStatus, WorkerProcess, WorkItem, utcnow
from video_qa.pipeline.ledger import (
    MAX_TAKEOVERS,
    VIDEO_LEVEL,
    ItemRef,
    queue_finalize_if_complete,
    record_failure,
)
from video_qa.pipeline.liveness import live_worker_names

log = logging.getLogger(__name__)


def recover(engine: Engine, settings: Settings, now: datetime | None = None) -> list[ItemRef]:
    """Repair the ledger; returns the items to send (after this function's commits)."""
    now = now or utcnow()
    overdue = now - timedelta(seconds=settings.task_time_limit + 120)  # no task outlives its hard limit
    send: list[ItemRef] = []
    poisoned: list[tuple[ItemRef, int, str | None]] = []
    with unit_of_work(engine) as session:
        live = live_worker_names(session, settings, now)
        orphaned = session.execute(
            select(WorkItem.id, WorkItem.video_id, WorkItem.clip_index, WorkItem.part, WorkItem.worker,
                   WorkItem.takeovers)
            .where(WorkItem.status == ItemStatus.running.value,
                   or_(WorkItem.worker.is_(None), WorkItem.worker.not_in(live), WorkItem.started_at < overdue))
        ).all()
        for item_id, video_id, clip_index, part, worker, takeovers in orphaned:
            ref = ItemRef(video_id, clip_index, part)
            if takeovers >= MAX_TAKEOVERS:
                poisoned.append((ref, takeovers, worker))
                continue
            moved = session.execute(
                update(WorkItem)
                .where(WorkItem.id == item_id, WorkItem.status == ItemStatus.running.value,
                       WorkItem.worker.is_(None) if worker is None else WorkItem.worker == worker)
                .values(status=ItemStatus.queued.value, queued_at=now, worker=None, takeovers=WorkItem.takeovers + 1)
                .execution_options(synchronize_session=False)
            ).rowcount
            if moved:
                log.warning("%s: its worker %s stopped answering; sent again (takeover %d)", ref.label(), worker,
                            takeovers + 1)
                send.append(ref)
        send += _resend_lost(session, settings, now)
        waiting = session.scalars(
            select(WorkItem.video_id).where(WorkItem.part == ItemPart.finalize.value,
                                            WorkItem.status == ItemStatus.waiting.value)
        ).all()
        for video_id in waiting:
            send += queue_finalize_if_complete(session, video_id)
        session.execute(delete(WorkerProcess).where(
            WorkerProcess.heartbeat_at < now - timedelta(seconds=10 * settings.worker_stale_after)))
    for ref, takeovers, worker in poisoned:
        where = "" if ref.clip_index == VIDEO_LEVEL else f" of clip {ref.clip_index}"
        record_failure(engine, ref, f"{ref.part}{where}: its worker died each time it ran ({takeovers + 1} times, "
                                    f"last {worker}); not retried again")
    return send


def _resend_lost(session: Session, settings: Settings, now: datetime) -> list[ItemRef]:
    """Items queued for longer than ``requeue_after``: their message is sent again."""
    stale_queue = now - timedelta(seconds=settings.requeue_after)
    send: list[ItemRef] = []
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
    return send
