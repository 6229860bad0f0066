"""Moments benchmark: the generated corpus (bench/corpus.py: slides, captions, a running counter
and clock, a busy moving background, hard cuts, a variable-frame-rate file, speech at known times)
ingested through the real pipeline (`videoqa ingest --wait`, embedded mode, a fresh data folder,
no vision-language model), then measured against the truth and searched with video_qa.search.

    .venv/bin/python -m bench.moments [--data DIR] [--keep] [--only NAME ...] [--no-doc]

Per kind (on-screen text, speech, chapters): found %, top-1 search hit starting within tolerance
(text: one sampling interval; speech: 1 s), median and p95 |start error|, text-track interval
IoU, chapter-boundary F1 at +-2 s (slide videos apart), noise and glyph-noise moments, text and
changing-text moments per minute, zero-length moments. Held-out videos get their own row.
Writes its table into docs/benchmarks.md.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._lib import CACHE, ROOT, child_env, cli
from bench._lib.report import run_line, write_block
from bench.corpus import CorpusVideo, build

CHAPTER_TOLERANCE = 2.0
SPEECH_TOLERANCE = 1.0


def ingest(env: dict[str, str], paths: list[Path]) -> tuple[list[dict[str, Any]], float]:
    began = time.perf_counter()
    cmd = [sys.executable, "-c", "import sys; from videoqa_cli.main import main; sys.exit(main())",
           "ingest", *map(str, paths), "--wait", "--json"]
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"ingest failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return json.loads(done.stdout), time.perf_counter() - began


def fold(text: str) -> str:
    from model.ocr import fold as _fold

    return _fold(text)


def same_text(truth: str, seen: str) -> bool:
    from video_qa.analysis.screen_text.tracks import text_similarity

    return text_similarity(truth, seen) >= 0.8 or fold(truth) in fold(seen)


def same_speech(truth: str, said: str) -> bool:
    """Half the sentence's words heard, each within a spelling slip (Whisper tiny.en writes
    "chloroplastatide" for "chloroplast at night")."""
    import difflib

    want, got = fold(truth).split(), fold(said).split()
    heard = sum(any(difflib.SequenceMatcher(None, w, g).ratio() >= 0.75 for g in got) for w in want)
    return heard >= 0.5 * len(want)


def iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union > 0 else 0.0


def glyph_noise(text: str) -> bool:
    from video_qa.analysis.screen_text.tracks import script_of

    alnum = [ch for ch in text if ch.isalnum()]
    return len(alnum) <= 2 or any(script_of(ch) not in {"LATIN", "DIGIT"} for ch in alnum)


def pct(n: int, d: int) -> str:
    return f"{100 * n / d:.0f} % ({n}/{d})" if d else "–"


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))] if ordered else float("nan")


def measure(engine: Any, settings: Any, videos: dict[str, tuple[CorpusVideo, int]]) -> dict[str, Any]:
    from sqlalchemy import select

    from video_qa.analyzers import get_embedder
    from video_qa.db import unit_of_work
    from video_qa.models import Moment
    from video_qa.search import Filters, search

    embedder = get_embedder(settings)
    interval = 1.0 / settings.ocr_fps
    rows: dict[str, dict[str, Any]] = {}

    def row(name: str) -> dict[str, Any]:
        return rows.setdefault(name, {"items": 0, "found": 0, "top1": 0, "errors": [], "iou": [], "tp": 0, "fp": 0,
                                      "fn": 0, "noise": 0, "glyph": 0, "text_moments": 0, "changing": 0,
                                      "minutes": 0.0, "zero": 0, "counter_worst": 0.0})

    for name, (video, video_id) in videos.items():
        groups = ["all", "held-out" if video.held_out else "tuned"]
        with unit_of_work(engine) as session:
            moments = session.scalars(select(Moment).where(Moment.video_id == video_id)).all()
            ms = [(m.kind, m.start, m.end, m.text, dict(m.meta or {})) for m in moments]
        text = [m for m in ms if m[0] == "text" and not m[4].get("changing")]
        changing = [m for m in ms if m[0] == "text" and m[4].get("changing")]
        speech = [m for m in ms if m[0] == "speech"]
        chapters = sorted(m[1] for m in ms if m[0] == "chapter")
        matched: set[int] = set()
        for item in video.items:
            pool = text if item.kind == "text" else speech
            hits = [k for k, m in enumerate(pool) if (same_text(item.text, m[3]) if item.kind == "text" else
                                                      same_speech(item.text, m[3]))
                    and m[2] > item.start - interval and m[1] < item.end + interval]
            tol = interval if item.kind == "text" else SPEECH_TOLERANCE
            with unit_of_work(engine) as session:
                found = search(session, engine, item.text, embedder, Filters(video_id=video_id), limit=5)
            for g in groups:
                for kind in (item.kind, "all kinds"):
                    r = row(f"{kind} | {g}")
                    r["items"] += 1
                    if found and abs(found[0].start - item.start) <= tol + 1e-6:
                        r["top1"] += 1
                    if hits:
                        r["found"] += 1
                        best = min(hits, key=lambda k: abs(pool[k][1] - item.start))
                        r["errors"].append(abs(pool[best][1] - item.start))
                        if item.kind == "text":
                            r["iou"].append(iou((pool[best][1], pool[best][2]), (item.start, item.end)))
            if item.kind == "text":
                matched.update(hits)
        predicted = [t for t in chapters if t > 0]
        truth = list(video.boundaries)
        tp = sum(any(abs(p - t) <= CHAPTER_TOLERANCE for p in predicted) for t in truth)
        fp = sum(not any(abs(p - t) <= CHAPTER_TOLERANCE for t in truth) for p in predicted)
        for g in groups + (["slide videos"] if video.slides else ["other videos"]):
            r = row(f"chapter | {g}")
            r["tp"] += tp
            r["fp"] += fp
            r["fn"] += len(truth) - tp
        for g in groups:
            r = row(f"all kinds | {g}")
            r["noise"] += sum(k not in matched for k in range(len(text)))
            r["glyph"] += sum(glyph_noise(m[3]) for m in text)
            r["text_moments"] += len(text) + len(changing)
            r["changing"] += len(changing)
            r["minutes"] += video.seconds / 60
            if video.counter or video.clock:
                r["counter_worst"] = max(r["counter_worst"], len(changing) / (video.seconds / 60))
            r["zero"] += sum(m[2] <= m[1] for m in ms)
    return rows


def table(rows: dict[str, dict[str, Any]]) -> str:
    head = ("| kind | videos | items | found | top-1 within tolerance | median / p95 abs start error (s) | "
            "text interval IoU (median) | chapter F1 at 2 s |\n| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    lines = [head]
    for key in sorted(rows, key=lambda k: (["text", "speech", "chapter", "all kinds"].index(k.split(" | ")[0]), k)):
        r = rows[key]
        kind, group = key.split(" | ")
        errors = r["errors"]
        err = f"{statistics.median(errors):.2f} / {p95(errors):.2f}" if errors else "–"
        f1 = "–"
        if r["tp"] + r["fp"] + r["fn"]:
            f1 = f"{2 * r['tp'] / (2 * r['tp'] + r['fp'] + r['fn']):.2f} (tp {r['tp']}, fp {r['fp']}, fn {r['fn']})"
        if kind == "chapter":
            lines.append(f"| {kind} | {group} | | | | | | {f1} |")
            continue
        ious = f"{statistics.median(r['iou']):.2f}" if r["iou"] else "–"
        lines.append(f"| {kind} | {group} | {r['items']} | {pct(r['found'], r['items'])} | "
                     f"{pct(r['top1'], r['items'])} | {err} | {ious} | |")
    noise = ["", "| videos | text moments per minute | changing-text moments per minute (worst counter/clock video) | "
             "unmatched text moments | glyph-noise moments | zero-length moments |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for key in sorted(k for k in rows if k.startswith("all kinds")):
        r = rows[key]
        per_min = r["text_moments"] / r["minutes"] if r["minutes"] else 0
        noise.append(f"| {key.split(' | ')[1]} | {per_min:.1f} | {r['counter_worst']:.2f} | {r['noise']} | "
                     f"{r['glyph']} | {r['zero']} |")
    return "\n".join(lines + noise)


def main() -> None:
    parser = cli("moments", __doc__)
    parser.add_argument("--data", type=Path, help="data folder (default: a fresh temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the data folder")
    parser.add_argument("--only", nargs="*", help="only these corpus videos")
    parser.add_argument("--no-doc", action="store_true", help="print the table, do not write docs/benchmarks.md")
    args = parser.parse_args()
    videos_dir = CACHE / "moments"
    made = build(videos_dir, args.only)
    data = args.data or Path(tempfile.mkdtemp(prefix="videoqa-moments-"))
    env = child_env(data_dir=data, archive_roots=videos_dir, vlm_model="")
    results, wall = ingest(env, [p for _, p in made])
    by_path = {Path(r["path"]).name: r for r in results}
    os.environ.update({k: v for k, v in env.items() if k.startswith("VIDEOQA_") or k.endswith("_OFFLINE")})
    from video_qa.config import load_settings
    from video_qa.db import make_engine

    settings = load_settings()
    engine = make_engine(settings.database_url or f"sqlite:///{data / 'videoqa.db'}")
    videos = {v.name: (v, int(by_path[p.name]["id"])) for v, p in made}
    rows = measure(engine, settings, videos)
    seconds = sum(v.seconds for v, _ in made)
    items = sum(len(v.items) for v, _ in made)
    body = (f"{run_line('moments')}. {len(made)} generated videos ({seconds / 60:.1f} min, {items} known items; "
            f"held out: {', '.join(v.name for v, _ in made if v.held_out)}), ingested in {wall:.0f} s wall, on-screen "
            f"text sampled at {settings.ocr_fps:g} fps, speech by the bundled Whisper tiny.en, no vision-language "
            "model.\n\n" + table(rows))
    print(body)
    if not args.no_doc:
        write_block("moments", "Moments: text tracks, speech, chapters (bench/moments.py)", body)
    engine.dispose()
    if not args.keep and args.data is None:
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
