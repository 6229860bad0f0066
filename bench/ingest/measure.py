"""Measuring one row of the ingest benchmark: a fresh data folder (and in server mode a fresh
PostgreSQL database, Redis db and ``videoqa worker -Q cpu``), the decode floor, the model load
time in a separate process, ``videoqa ingest --wait`` under the process-tree monitor, then the
work ledger's stage seconds and the ground truth found among the moments."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench._lib import PG_ADMIN, ROOT, child_env
from bench._lib.media import decode_floor
from bench._lib.monitor import TreeMonitor
from bench.ingest.files import CACHE, make_video
from bench.ingest.truth import Truth
from bench.moments import same_speech, same_text

REDIS = os.environ.get("VIDEOQA_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
TOLERANCE = 2.0  # a truth item is found when a matching moment starts within this many seconds


@dataclass(frozen=True)
class RowSpec:
    name: str
    video: str  # talk, busy or cuts
    minutes: int
    mode: str  # embedded or server
    tiny: bool = False


ROWS = {r.name: r for r in (
    RowSpec("talk10", "talk", 10, "embedded"), RowSpec("busy10", "busy", 10, "embedded"),
    RowSpec("server10", "talk", 10, "server"), RowSpec("tiny10", "talk", 10, "embedded", tiny=True),
    RowSpec("talk60", "talk", 60, "embedded"), RowSpec("talk120", "talk", 120, "embedded"),
    RowSpec("cuts4", "cuts", 4, "embedded"),
)}


LOAD_PROBE = """
import json, sys, time
began = time.perf_counter()
import numpy as np
from video_qa.analyzers import get_backends
from video_qa.config import load_settings
b = get_backends(load_settings())
if b.speech is not None:
    b.speech.transcribe(np.random.default_rng(0).normal(0, 0.01, 16000).astype(np.float32))
if b.ocr is not None:
    frame = np.full((720, 1280, 3), 255, np.uint8)
    b.ocr.read_frame(frame)
    b.ocr.read_frame(frame, region=(0, 0, 320, 180))
if b.embedder is not None:
    b.embedder.encode(["warm up"])
if b.labeler is not None:
    b.labeler.label(np.full((256, 256, 3), 128, np.uint8))
if b.image_embedder is not None:
    b.image_embedder.encode_images([np.full((256, 256, 3), 128, np.uint8)])
if b.vlm is not None:
    b.vlm.load()
print(json.dumps({"seconds": time.perf_counter() - began}))
"""


def model_load_seconds(env: dict[str, str]) -> float | None:
    """Imports plus the first call of each configured backend, in a fresh process."""
    done = subprocess.run([sys.executable, "-c", LOAD_PROBE], env=env, cwd=ROOT, capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        print(f"model load probe failed ({done.returncode}):\n{done.stderr[-3000:]}", file=sys.stderr)
        return None
    return float(json.loads(done.stdout.strip().splitlines()[-1])["seconds"])


def ledger(url: str) -> tuple[dict[str, float], int]:
    from sqlalchemy import select

    from video_qa.db import make_engine, unit_of_work
    from video_qa.models import WorkItem
    from video_qa.pipeline.clock import STAGES

    engine = make_engine(url)
    totals = dict.fromkeys(STAGES, 0.0)
    with unit_of_work(engine) as session:
        items = session.scalars(select(WorkItem)).all()
        for item in items:
            for stage, seconds in ((item.stats or {}).get("seconds") or {}).items():
                totals[stage] = totals.get(stage, 0.0) + seconds
    engine.dispose()
    return totals, len(items)


def check_truth(url: str, video_id: int, truth: list[Truth]) -> dict[str, Any]:
    """Per kind: truth items found (a matching moment of that kind starting within TOLERANCE s of
    the known start) and the start errors of those found."""
    from sqlalchemy import select

    from video_qa.db import make_engine, unit_of_work
    from video_qa.models import Moment

    engine = make_engine(url)
    with unit_of_work(engine) as session:
        rows = session.execute(select(Moment.kind, Moment.start, Moment.text).where(Moment.video_id == video_id)).all()
    engine.dispose()
    out: dict[str, Any] = {}
    for kind in ("text", "speech"):
        pool = [(start, text) for k, start, text in rows if k == kind]
        same = same_text if kind == "text" else same_speech
        items = [t for t in truth if t.kind == kind]
        errors = []
        for item in items:
            near = [abs(start - item.start) for start, text in pool
                    if abs(start - item.start) <= TOLERANCE and same(item.text, text)]
            if near:
                errors.append(min(near))
        out[kind] = {"items": len(items), "found": len(errors), "errors": errors, "moments": len(pool)}
    return out


def check_cuts(url: str, video_id: int, truth: list[Truth]) -> dict[str, Any]:
    """The scene cuts stored (``clips.scene_cuts``) against the known cuts: how many are stored,
    how many known cuts a stored cut covers honestly (``time - uncertainty < cut <= time``), the
    error ``time - cut`` of the covering ones and their uncertainties."""
    from sqlalchemy import select

    from video_qa.db import make_engine, unit_of_work
    from video_qa.models import Clip

    engine = make_engine(url)
    with unit_of_work(engine) as session:
        stored = [(float(t), float(u)) for cuts in session.scalars(select(Clip.scene_cuts).where(Clip.video_id == video_id))
                  for t, u in (cuts or [])]
    engine.dispose()
    known = [t.start for t in truth if t.kind == "cut"]
    errors, spreads = [], []
    for cut in known:
        cover = [(t, u) for t, u in stored if t - u - 1e-3 < cut <= t + 1e-3]
        if cover:
            t, u = min(cover, key=lambda c: c[1])
            errors.append(round(t - cut, 3))
            spreads.append(u)
    return {"items": len(known), "stored": len(stored), "covered": len(errors), "errors": errors,
            "uncertainties": spreads}


def run_ingest(row: RowSpec, env: dict[str, str], video: Path, logs: Path,
               workers: list[subprocess.Popen[bytes]]) -> tuple[dict[str, Any], float, dict[str, float]]:
    """``videoqa ingest --wait --json`` under the monitor: (its JSON row, wall s, monitor stats)."""
    out_file, err_file = logs / f"{row.name}.ingest.json", logs / f"{row.name}.ingest.log"
    with open(out_file, "wb") as out, open(err_file, "wb") as err:
        began = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "videoqa_cli", "ingest", str(video), "--wait", "--json"],
                                env=env, cwd=ROOT, stdout=out, stderr=err)
        worker_pids = [w.pid for w in workers]
        monitor = TreeMonitor([proc.pid, *worker_pids], rss_pids=worker_pids or [proc.pid], rss_trees=bool(workers))
        monitor.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - began
        proc.returncode = os.waitstatus_to_exitcode(status)
        stats = monitor.stop()
    if row.mode == "embedded":  # exact figures for the ingest process itself (and the children it waited for)
        stats["rusage_cpu_percent"] = 100.0 * (usage.ru_utime + usage.ru_stime) / wall
        stats["rusage_maxrss_mb"] = usage.ru_maxrss / 1024
    rows = json.loads(out_file.read_text() or "[]")
    if proc.returncode != 0 or not rows or rows[0]["status"] != "ready":
        raise SystemExit(f"{row.name}: ingest did not finish ({proc.returncode}): {rows}\n"
                         f"{err_file.read_text()[-3000:]}")
    return rows[0], wall, stats


def start_workers(env: dict[str, str], logs: Path, db_url: str) -> list[subprocess.Popen[bytes]]:
    """One ``videoqa worker -Q cpu`` (prefork, concurrency 1, as docs/workers.md), waited for until
    its heartbeat row is written."""
    from sqlalchemy import func, select

    from video_qa.db import make_engine, unit_of_work
    from video_qa.models import WorkerProcess

    with open(logs / "worker_cpu.log", "wb") as log:  # the worker writes to its own copy of the descriptor
        workers = [subprocess.Popen([sys.executable, "-m", "videoqa_cli", "worker", "-Q", "cpu", "--name", "bench-cpu"],
                                    env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)]
    engine = make_engine(db_url)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with unit_of_work(engine) as session:
            if session.scalar(select(func.count()).select_from(WorkerProcess)):
                break
        if workers[0].poll() is not None:
            raise SystemExit(f"the worker exited: {(logs / 'worker_cpu.log').read_text()[-3000:]}")
        time.sleep(0.5)
    else:
        raise SystemExit("the worker wrote no heartbeat within 120 s")
    engine.dispose()
    return workers


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for w in workers:
        os.killpg(w.pid, signal.SIGTERM)
    for w in workers:
        try:
            w.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(w.pid, signal.SIGKILL)
            w.wait()


VISUAL_OFF = " (visual off)"  # the name of a row measured with VIDEOQA_VISUAL_MODEL=off
EXACT_OFF = " (exact cuts off)"  # the name of a row measured with VIDEOQA_EXACT_CUTS=false


def measure_row(row: RowSpec, keep: bool, visual: bool = True, exact: bool = True) -> dict[str, Any]:
    """``row`` measured with default settings, or with visual moments turned off (``visual`` False)
    or cuts left at their samples (``exact`` False: no decode of the frames around each cut)."""
    from video_qa.media import probe

    video, truth = make_video(row.video, row.minutes)
    duration = float(probe(video).duration)
    run_dir = CACHE / "runs" / f"{row.name}-{uuid.uuid4().hex[:6]}"
    run_dir.mkdir(parents=True)
    settings: dict[str, object] = {"data_dir": run_dir / "data", "archive_roots": CACHE}
    if not visual:
        settings["visual_model"] = "off"
    if not exact:
        settings["exact_cuts"] = "false"
    name = row.name + ("" if visual else VISUAL_OFF) + ("" if exact else EXACT_OFF)
    if row.tiny:
        from model.tiny import build_tiny_model

        tiny = CACHE / "tiny-qwen"
        if not (tiny / "config.json").exists():
            build_tiny_model(tiny)
        settings["vlm_model"] = tiny
    admin = pg = None
    if row.mode == "server":
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        name = f"videoqa_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        pg = make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
        settings.update(database_url=pg, broker_url=REDIS)
    env = child_env(**settings)
    db_url = pg or f"sqlite:///{run_dir / 'data' / 'videoqa.db'}"
    workers: list[subprocess.Popen[bytes]] = []
    try:
        busy_before = os.getloadavg()[0]  # others' work on the machine shows here (the bench lock covers benchmarks)
        load = model_load_seconds(env)
        floor = decode_floor(video)
        print(f"{name}: {video.name} {duration:.0f} s, decode floor {floor:.1f} s, model load "
              f"{load if load is None else round(load, 1)} s, load average {busy_before:.2f}", flush=True)
        if row.mode == "server":
            import redis

            from video_qa import migrate

            redis.Redis.from_url(REDIS).flushdb()
            migrate.upgrade(pg)
            workers = start_workers(env, run_dir, pg)
        status, wall, stats = run_ingest(row, env, video, run_dir, workers)
        stop_workers(workers)
        workers = []
        totals, items = ledger(db_url)
        found = check_truth(db_url, int(status["id"]), truth)
        seen = visual_moments(db_url, int(status["id"]))
        cuts = check_cuts(db_url, int(status["id"]), truth)
    finally:
        stop_workers(workers)
        if admin is not None and pg is not None:
            from sqlalchemy import text
            from sqlalchemy.engine import make_url

            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(pg).database}" WITH (FORCE)'))
            admin.dispose()
        if not keep:
            shutil.rmtree(run_dir, ignore_errors=True)
    return {"row": name, "base": row.name, "visual": visual, "exact_cuts": exact, "cuts": cuts, "video": row.video, "mode": row.mode, "tiny": row.tiny, "file": video.name,
            "duration": duration, "floor": floor, "wall": wall, "realtime": duration / wall, "ratio": wall / floor,
            "model_load": load, "load_average": busy_before, "stages": totals, "items": items, "truth": found, "visual_moments": seen, **stats,
            "measured": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "commit": git_commit()}


def visual_moments(db_url: str, video_id: int) -> int:
    """How many visual moments the ingest made of the video."""
    from sqlalchemy import create_engine, func, select

    from video_qa.models import Moment, MomentKind

    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(Moment).where(
                Moment.video_id == video_id, Moment.kind == MomentKind.visual.value)).scalar_one())
    finally:
        engine.dispose()


def git_commit() -> str:
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True,
                           text=True).stdout.strip()
    return head.strip() + ("+changes" if dirty else "")
