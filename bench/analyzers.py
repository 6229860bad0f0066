"""Analyzer benchmark: speech realtime factor (Whisper tiny.en int8), OCR frames per second at
1280x720, embedding texts per second, each with the peak RSS of its own process.

    .venv/bin/python -m bench.analyzers

Writes its table into docs/benchmarks.md between the analyzers markers.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from bench._lib import CACHE, ROOT, cli
from bench._lib.media import speech_and_caption_video
from bench._lib.monitor import run_child
from bench._lib.report import run_line, write_block


def speech() -> dict:
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


CHILDREN = {"speech": speech, "ocr": ocr, "embed": embed}  # each measured in its own process


def main() -> None:
    parser = cli("analyzers", __doc__)
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(CHILDREN[args.child]()))
        return
    rows = []
    for name in CHILDREN:
        _, rss, out = run_child([sys.executable, "-m", "bench.analyzers", "--child", name], cwd=ROOT,
                                env={**os.environ, "HF_HUB_OFFLINE": "1"})
        row = json.loads(out.strip().splitlines()[-1])
        row["rss"] = rss
        rows.append(row)
        print(f"{row['what']:<60} {row['rate']:>18} {row['rss']:6.0f} MB", flush=True)
    lines = [f"{run_line('analyzers')}; CPU only. Each row is its own process.", "",
             "| analyzer | rate | peak RSS MB |", "| --- | ---: | ---: |"]
    lines += [f"| {r['what']} | {r['rate']} | {r['rss']:.0f} |" for r in rows]
    block = "\n".join(lines)
    write_block("analyzers", "Analyzers (`bench/analyzers.py`)", block)


if __name__ == "__main__":
    main()
