"""Which workers are alive: the one rule every decision about a claim uses.

A worker is **live** when its heartbeat row (``workers``) was written within
``worker_stale_after`` seconds **and**, when its row names this machine's host name, a process with
its pid exists here. The pid check lets a worker killed a second ago be taken over at once instead
of after ``worker_stale_after``. Host names must therefore identify a pid namespace: containers that
share a host name (``network_mode: host``) must also share the host's pids (``pid: host``), or a
live worker in one would look dead from the other.

``live_worker_names`` is that rule; the claim (``ledger.claim``), a new request
(``ledger.request_ingest``), recovery (``recovery.recover``) and the "is a worker running?" checks
of the CLI and the API (``live_workers``) all use it.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from video_qa.config import Settings
from video_qa.db import unit_of_work
from video_qa.models import WorkerProcess, utcnow


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


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


def heartbeat_cutoff(settings: Settings, now: datetime | None = None) -> datetime:
    """Heartbeats older than this are silent."""
    return (now or utcnow()) - timedelta(seconds=settings.worker_stale_after)


def live_workers(session: Session, settings: Settings, now: datetime | None = None) -> list[WorkerProcess]:
    """The live workers' rows (the rule in the module's doc)."""
    here = socket.gethostname()
    rows = session.scalars(select(WorkerProcess).where(WorkerProcess.heartbeat_at >= heartbeat_cutoff(settings, now))
                           .order_by(WorkerProcess.name))
    return [w for w in rows if w.hostname != here or process_exists(w.pid)]


def live_worker_names(session: Session, settings: Settings, now: datetime | None = None) -> list[str]:
    """The names of the live workers: what a claim's ``worker`` column is compared with."""
    return [w.name for w in live_workers(session, settings, now)]
