"""Driving the pipeline without Celery: what a worker does, one item after another."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine, select

from video_qa.analyzers import get_backends
from video_qa.config import Settings, load_settings
from video_qa.db import unit_of_work
from video_qa.models import Moment
from video_qa.pipeline import ItemRef, request_ingest, run_item
from video_qa.registry import register_file

WORKER = "test-worker@here"


def quiet_settings(root: Path, **overrides: object) -> Settings:
    """Settings with every analyzer off (fast), the archive root at ``root``, short clips."""
    values: dict[str, object] = {"archive_roots": str(root), "speech_model": "off", "ocr": False,
                                 "embed_model": "off", "clip_seconds": 2.0, "visual_model": "off"}
    values.update(overrides)
    return load_settings(**values)


def drain(engine: Engine, settings: Settings, refs: list[ItemRef], worker: str = WORKER) -> list[ItemRef]:
    """Run items as one worker would, following each item's follow-ups; returns what ran."""
    queue, ran = list(refs), []
    while queue:
        ref = queue.pop(0)
        queue += run_item(engine, ref, worker, settings, lambda: get_backends(settings))
        ran.append(ref)
    return ran


def ingest(engine: Engine, settings: Settings, path: Path) -> tuple[int, list[ItemRef]]:
    with unit_of_work(engine) as session:
        reg = register_file(session, path, settings)
        _, refs = request_ingest(session, reg.video_id, settings)
    return reg.video_id, drain(engine, settings, refs)


def moment_rows(engine: Engine, video_id: int) -> list[tuple[object, ...]]:
    """Every moment by its key and content (ids excluded: they are not part of the result)."""
    with unit_of_work(engine) as session:
        return [
            (m.kind, m.clip_index, m.seq, round(m.start, 3), round(m.end, 3), m.text, m.vector is not None)
            for m in session.scalars(select(Moment).where(Moment.video_id == video_id)
                                     .order_by(Moment.kind, Moment.clip_index, Moment.seq))
        ]


def request(engine: Engine, settings: Settings, video_id: int) -> list[ItemRef]:
    """Ask for the video's ingest again and run everything it sends; returns what ran."""
    with unit_of_work(engine) as session:
        _, refs = request_ingest(session, video_id, settings)
    return drain(engine, settings, refs)


def dead_pid() -> int:
    """The pid of a process of this machine that has ended (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid
