"""Ingest benchmark: a generated 10-minute 1280x720 video with speech every minute and a new
on-screen slide title every 20 s, the tiny vision twin, speech and OCR on, through the real
pipeline in embedded mode and in server mode (PostgreSQL + Redis, one `-Q gpu` and one `-Q cpu`
worker process), side by side in one run.

    .venv/bin/python bench/ingest.py [--minutes 10]

Per mode: wall time from `videoqa ingest` to ready, the seconds each stage took (summed over the
parts from the work ledger), the pipeline overhead (wall time minus the busiest stage's time,
over wall time) and the realtime factor. Writes its table into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import time
import uuid
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from docwrite import write_block  # noqa: E402

CACHE = ROOT / "bench" / ".cache"
PG_ADMIN = os.environ.get("VIDEOQA_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("VIDEOQA_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def make_video(minutes: int) -> Path:
    seconds = minutes * 60
    path = CACHE / f"ingest_{minutes}min.mp4"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    wav = CACHE / "ingest_speech.wav"
    subprocess.run(["espeak-ng", "-s", "150", "-w", str(wav),
                    "the quarterly budget is approved and the harbour crane is ready"], check=True, capture_output=True)
    n = minutes
    split = f"[1:a]asplit={n}" + "".join(f"[s{i}]" for i in range(n)) + ";"
    delays = "".join(f"[s{i}]adelay={(i * 60 + 10) * 1000}:all=1[d{i}];" for i in range(n))
    mix = "".join(f"[d{i}]" for i in range(n)) + f"amix=inputs={n}:normalize=0,apad,atrim=0:{seconds},aresample=48000[a]"
    video = (f"testsrc2=s=1280x720:r=30:d={seconds},drawtext=fontfile={FONT}:text='SLIDE %{{eif\\:floor(t/20)\\:d}}':"
             f"fontsize=96:fontcolor=white:box=1:boxcolor=black:x=(w-tw)/2:y=h/3")
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", video, "-i", str(wav),
                    "-filter_complex", split + delays + mix, "-map", "0:v", "-map", "[a]",
                    "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-g", "250", "-bf", "2",
                    "-pix_fmt", "yuv420p", "-c:a", "aac", "-t", str(seconds), str(path)], check=True)
    return path


def env_for(**settings: object) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDEOQA_")}
    env.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    env.update({f"VIDEOQA_{k.upper()}": str(v) for k, v in settings.items()})
    return env


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "videoqa_cli", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, check=False)


def ledger(url: str) -> tuple[dict[str, float], int]:
    from sqlalchemy import select

    from video_qa.db import make_engine, unit_of_work
    from video_qa.models import WorkItem
    from video_qa.stages import STAGES

    engine = make_engine(url)
    totals = dict.fromkeys(STAGES, 0.0)
    with unit_of_work(engine) as session:
        items = session.scalars(select(WorkItem)).all()
        for item in items:
            for stage, seconds in ((item.stats or {}).get("seconds") or {}).items():
                totals[stage] = totals.get(stage, 0.0) + seconds
    engine.dispose()
    return totals, len(items)


def run_mode(name: str, env: dict[str, str], video: Path, db_url: str, duration: float) -> dict:
    workers = []
    if name == "server":
        for queue in ("gpu", "cpu"):
            log = open(CACHE / f"ingest_worker_{queue}.log", "w")  # noqa: SIM115 - closed with the process
            workers.append(subprocess.Popen([sys.executable, "-m", "videoqa_cli", "worker", "-Q", queue,
                                             "--name", queue], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True))
        time.sleep(3)
    t0 = time.perf_counter()
    out = cli(env, "ingest", str(video), "--wait", "--json")
    wall = time.perf_counter() - t0
    for w in workers:
        os.killpg(w.pid, signal.SIGTERM)
        w.wait(timeout=60)
    rows = json.loads(out.stdout or "[]")
    if out.returncode != 0 or not rows or rows[0]["status"] != "ready":
        raise SystemExit(f"{name}: ingest did not finish: {rows} {out.stderr[-2000:]}")
    totals, items = ledger(db_url)
    busiest = max(totals, key=lambda k: totals[k])
    return {"mode": name, "wall": wall, "totals": totals, "busiest": busiest, "items": items,
            "overhead": (wall - totals[busiest]) / wall, "realtime": duration / wall}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=int, default=10)
    args = parser.parse_args()
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from model.tiny import build_tiny_model
    from video_qa import migrate
    from video_qa.media import probe

    video = make_video(args.minutes)
    duration = probe(video).duration
    tiny = CACHE / "tiny-qwen"
    if not (tiny / "config.json").exists():
        build_tiny_model(tiny)
    common = {"archive_roots": CACHE, "vlm_model": tiny}

    results = []
    data = CACHE / f"ingest-embedded-{uuid.uuid4().hex[:6]}"
    env = env_for(data_dir=data, **common)
    results.append(run_mode("embedded", env, video, f"sqlite:///{data / 'videoqa.db'}", duration))

    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    name = f"videoqa_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    pg = make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
    try:
        import redis

        redis.Redis.from_url(REDIS).flushdb()
        migrate.upgrade(pg)
        env = env_for(data_dir=CACHE / f"ingest-server-{uuid.uuid4().hex[:6]}", database_url=pg, broker_url=REDIS,
                      **common)
        results.append(run_mode("server", env, video, pg, duration))
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    from video_qa.stages import STAGES

    head = "| mode | wall s | " + " | ".join(f"{s} s" for s in STAGES) + " | busiest | overhead | realtime |"
    lines = [head, "|" + " --- |" * (len(STAGES) + 5)]
    for r in results:
        cells = " | ".join(f"{r['totals'].get(s, 0.0):.1f}" for s in STAGES)
        lines.append(f"| {r['mode']} | {r['wall']:.1f} | {cells} | {r['busiest']} | {r['overhead'] * 100:.0f}% | "
                     f"x{r['realtime']:.2f} |")
    body = (
        f"Measured {date.today()} on {platform.machine()}, {os.cpu_count()} cores, no GPU: a {duration / 60:.0f}-minute "
        f"1280x720 30 fps H.264 video (speech every minute, a new slide title every 20 s), the tiny random-weight "
        f"vision twin, Whisper tiny.en, rapidocr at 0.5 fps, MiniLM embeddings; {results[0]['items']} work items. "
        "Embedded: `videoqa ingest --wait` with its in-process worker (2 threads). Server: PostgreSQL + Redis, one "
        "`videoqa worker -Q gpu` and one `-Q cpu` process. Stage columns are seconds summed over all parts (work "
        "done in parallel adds up, so a column can exceed the wall time). Overhead = (wall − busiest stage) / wall; "
        "the wall time includes loading every model once per process. Run: `.venv/bin/python bench/ingest.py`.\n\n"
        + "\n".join(lines)
    )
    print(body)
    write_block("ingest", "Ingest pipeline", body)


if __name__ == "__main__":
    main()
