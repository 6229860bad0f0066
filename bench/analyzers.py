"""Analyzer benchmark: speech realtime factor (Whisper tiny.en int8), OCR frames per second at
1280x720, embedding texts per second, each with the peak RSS of its own process.

    .venv/bin/python bench/analyzers.py

Writes its table into docs/benchmarks.md between the analyzers markers.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from docwrite import write_block  # noqa: E402

DOC = ROOT / "docs" / "benchmarks.md"
CACHE = ROOT / "bench" / ".cache"


def speech() -> dict:
    from tests.factories.media import speech_and_caption_video
    from video_qa.analyzers import get_speech
    from video_qa.config import load_settings
    from video_qa.media import read_audio

    path = speech_and_caption_video(CACHE / "analyzers_speech.mp4", seconds=120)
    audio = read_audio(path, 0.0, 120.0)
    model = get_speech(load_settings())
    model.transcribe(audio[:16000 * 5])  # load
    t0 = time.perf_counter()
    model.transcribe(audio)
    seconds = time.perf_counter() - t0
    return {"what": "speech: Whisper tiny.en int8, 120 s of audio (VAD on)", "rate": f"x{120 / seconds:.1f} realtime"}


def ocr() -> dict:
    import numpy as np
    from PIL import Image

    from tests.factories.media import speech_and_caption_video
    from video_qa.analyzers import get_ocr
    from video_qa.config import load_settings
    from video_qa.media import FrameReader, probe
    from video_qa.media.plan import sampling_plan

    path = speech_and_caption_video(CACHE / "analyzers_speech.mp4", seconds=120)
    p = probe(path)
    with FrameReader(path, p) as reader:
        frames = reader.read(sampling_plan(60.0, 80.0, 1.0, p)).frames
    frames = [np.asarray(Image.fromarray(f).resize((1280, 720))) for f in frames]
    engine = get_ocr(load_settings())
    engine.read_frame(frames[0])
    t0 = time.perf_counter()
    for frame in frames:
        engine.read_frame(frame)
    seconds = time.perf_counter() - t0
    return {"what": f"OCR: rapidocr PP-OCR on {len(frames)} frames 1280x720", "rate": f"{len(frames) / seconds:.2f} frames/s"}


def embed() -> dict:
    from video_qa.analyzers import get_embedder
    from video_qa.config import load_settings

    texts = [f"moment {i}: a person talks about the quarterly budget table number {i}" for i in range(2000)]
    model = get_embedder(load_settings())
    model.encode(texts[:10])
    t0 = time.perf_counter()
    model.encode(texts)
    seconds = time.perf_counter() - t0
    return {"what": "embeddings: all-MiniLM-L6-v2, 2000 texts, batch 64", "rate": f"{len(texts) / seconds:.0f} texts/s"}


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        print(json.dumps(globals()[sys.argv[2]]()))
        return
    rows = []
    for name in ("speech", "ocr", "embed"):
        proc = subprocess.Popen([sys.executable, __file__, "--child", name], stdout=subprocess.PIPE, text=True,
                                env={**os.environ, "HF_HUB_OFFLINE": "1"})
        _, status, usage = os.wait4(proc.pid, 0)
        out = proc.stdout.read() if proc.stdout else ""
        if os.waitstatus_to_exitcode(status):
            raise SystemExit(f"{name} failed")
        row = json.loads(out.strip().splitlines()[-1])
        row["rss"] = usage.ru_maxrss / 1024
        rows.append(row)
        print(f"{row['what']:<60} {row['rate']:>18} {row['rss']:6.0f} MB", flush=True)
    lines = [f"Run `python bench/analyzers.py` on {date.today()}, {os.cpu_count()} cores, CPU only, "
             f"{platform.machine()}, Python {platform.python_version()}. Each row is its own process.", "",
             "| analyzer | rate | peak RSS MB |", "| --- | ---: | ---: |"]
    lines += [f"| {r['what']} | {r['rate']} | {r['rss']:.0f} |" for r in rows]
    block = "\n".join(lines)
    write_block("analyzers", "Analyzers (`bench/analyzers.py`)", block)


if __name__ == "__main__":
    main()
