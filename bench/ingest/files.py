"""The ingest benchmark's files, made once into bench/.cache/ingest (not measured): a 10-minute
talk or busy unit (1280x720 30 fps H.264, AAC) and longer files made of that unit concatenated,
and a cut-heavy file of a few minutes (no audio), each with its ground truth beside it as JSON."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

from bench._lib import CACHE as BENCH_CACHE
from bench._lib.media import FONT, concat_copies, escape_text, ffmpeg, h264, say, speech_mix, wav_seconds
from bench.ingest.truth import (
    BUSY_CAPTIONS,
    BUSY_CUTS,
    BUSY_SPEECH,
    TALK_SPEECH,
    TITLE_B,
    UNIT,
    Truth,
    cut_edges,
    cuts_truth,
    slide_starts,
    talk_titles,
    unit_truth,
)

CACHE = BENCH_CACHE / "ingest"
FONT_REGULAR = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
SIZE, RATE = "1280x720", 30
AUDIO = ["-c:a", "aac", "-b:a", "96k", "-t", str(UNIT), "-movflags", "+faststart"]


def speech_track(kind: str, said: tuple[tuple[float, str], ...]) -> tuple[Path, dict[str, float]]:
    """A 48 kHz mono WAV of UNIT seconds with each sentence (espeak-ng, 150 words a minute) at its
    start time, and the length of each sentence."""
    folder = CACHE / "speech"
    folder.mkdir(parents=True, exist_ok=True)
    wavs, lengths = [], {}
    for i, (_, text) in enumerate(said):
        wav = folder / f"{kind}_{i}.wav"
        seconds = wav_seconds(wav) if wav.exists() else say(wav, text, speed=150)
        wavs.append(wav)
        lengths[text] = round(seconds, 2)
    out = folder / f"{kind}_track.wav"
    if not out.exists():
        inputs = [a for w in wavs for a in ("-i", str(w))]
        graph = speech_mix(tuple(t for t, _ in said), UNIT, first_input=0)
        ffmpeg(*inputs, "-filter_complex", graph, "-map", "[a]", "-ac", "1", "-ar", "48000", str(out))
    return out, lengths


def make_talk_unit(path: Path, audio: Path) -> None:
    """White slides with a big title and three bullet lines each, a coloured bar per slide and a
    240x135 moving inset (gradients and a walking shape, no text) bottom right."""
    starts = slide_starts()
    edges = list(zip(starts, starts[1:] + [UNIT]))
    colours = ("0x1f77b4", "0xff7f0e", "0x2ca02c", "0xd62728", "0x9467bd", "0x8c564b")
    parts = [f"color=c=0xf6f6f2:s={SIZE}:r={RATE}:d={UNIT}"]
    for k, ((a, b), title) in enumerate(zip(edges, talk_titles())):
        on = f"enable='gte(t,{a})*lt(t,{b})'"
        parts.append(f"drawbox=x=0:y=0:w=1280:h=24:c={colours[k % len(colours)]}:t=fill:{on}")
        parts.append(f"drawtext=fontfile={FONT}:text='{escape_text(title)}':x=80:y=70:fontsize=72:"
                     f"fontcolor=0x202020:{on}")
        for line in range(3):
            words = " ".join(TITLE_B[(k * 3 + line * 5 + w) % len(TITLE_B)].lower() for w in range(3 + (k + line) % 3))
            parts.append(f"drawtext=fontfile={FONT_REGULAR}:text='- {words}':x=100:y={230 + 80 * line}:"
                         f"fontsize=40:fontcolor=0x303030:{on}")
    graph = ("[1:v][2:v]overlay=x='mod(t*50,200)':y='45+25*sin(t)':eval=frame,"
             "drawbox=x=0:y=0:w=iw:h=ih:c=black:t=3[cam];[0:v][cam]overlay=x=W-w-32:y=H-h-32[v]")
    ffmpeg("-f", "lavfi", "-i", ",".join(parts),
           "-f", "lavfi", "-i", f"gradients=s=240x135:r={RATE}:d={UNIT}:speed=0.03:seed=3",
           "-f", "lavfi", "-i", f"color=c=0x303030:s=40x60:r={RATE}:d={UNIT}",
           "-i", str(audio), "-filter_complex", graph, "-map", "[v]", "-map", "3:a", *h264("veryfast"), *AUDIO,
           str(path))


def busy_source(k: int, d: float) -> str:
    """The lavfi source of the busy unit's ``k``-th shot, ``d`` seconds long."""
    scale = SIZE.replace("x", ":")
    kind = k % 4
    if kind == 0:
        return f"testsrc2=s={SIZE}:r={RATE}:d={d},hue=H=t*{2 + k}"
    if kind == 1:
        return (f"life=s=320x180:r={RATE}:mold=10:ratio={0.08 + 0.02 * k}:seed={k}:life_color=#00ff80:"
                f"death_color=#802020,trim=duration={d},scale={scale}:flags=neighbor")
    if kind == 2:
        return f"gradients=s={SIZE}:r={RATE}:d={d}:speed=0.05:seed={k},hue=H=t"
    return f"testsrc2=s={SIZE}:r={RATE}:d={d},scroll=h={0.002 * (k % 3 + 1)}:v=0.001,hue=s=1+sin(t)"


def make_busy_unit(path: Path, audio: Path) -> None:
    """Full-frame motion cut hard at BUSY_CUTS, with the boxed BUSY_CAPTIONS at their times."""
    edges = list(zip((0, *BUSY_CUTS), (*BUSY_CUTS, int(UNIT))))
    inputs, labels = [], []
    for k, (a, b) in enumerate(edges):
        inputs += ["-f", "lavfi", "-i", f"{busy_source(k, b - a)},setsar=1,format=yuv420p"]
        labels.append(f"[{k}:v]")
    text = ",".join(
        f"drawtext=fontfile={FONT}:text='{escape_text(t)}':x={x}:y={y}:fontsize=54:fontcolor=white:box=1:"
        f"boxcolor=black@0.75:boxborderw=14:enable='gte(t,{a})*lt(t,{a + d})'" for a, d, t, x, y in BUSY_CAPTIONS)
    graph = "".join(labels) + f"concat=n={len(labels)}:v=1[cat];[cat]{text}[v]"
    ffmpeg(*inputs, "-i", str(audio), "-filter_complex", graph, "-map", "[v]", "-map", f"{len(edges)}:a",
           *h264("superfast"), *AUDIO, str(path))


def cut_source(k: int, d: float) -> str:
    """The lavfi source of the cut-heavy file's ``k``-th shot, ``d`` seconds long: the busy
    unit's moving pictures between flat colours and still test cards (cuts between those show in
    no packet size)."""
    flat = ("color=c=olive:", "smptebars=", "pal100bars=", "color=c=teal:")
    if k % 3 == 0:
        return busy_source(k // 3, d)
    return f"{flat[(k - k // 3 - 1) % len(flat)]}s={SIZE}:r={RATE}:d={d}"


def make_cuts_video(path: Path, seconds: float) -> None:
    """Shots of CUT_SHOTS seconds (2.2-5 s) joined with hard cuts, no audio."""
    inputs, labels = [], []
    for k, (a, b) in enumerate(cut_edges(seconds)):
        inputs += ["-f", "lavfi", "-i", f"{cut_source(k, round(b - a, 3))},setsar=1,format=yuv420p"]
        labels.append(f"[{k}:v]")
    graph = "".join(labels) + f"concat=n={len(labels)}:v=1[v]"
    ffmpeg(*inputs, "-filter_complex", graph, "-map", "[v]", *h264("superfast"), "-movflags", "+faststart",
           str(path))


def make_video(kind: str, minutes: int) -> tuple[Path, list[Truth]]:
    """The ``minutes``-long file of ``kind`` (talk, busy or cuts) and its ground truth, made when
    absent (the truth is cached with the file as JSON)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path, truth_file = CACHE / f"{kind}{minutes}.mp4", CACHE / f"{kind}{minutes}.truth.json"
    if path.exists() and truth_file.exists():
        return path, [Truth(**t) for t in json.loads(truth_file.read_text())["items"]]
    if kind == "cuts":
        began = time.perf_counter()
        make_cuts_video(path.with_suffix(".part.mp4"), minutes * 60.0)
        path.with_suffix(".part.mp4").rename(path)
        print(f"made {path.name} in {time.perf_counter() - began:.0f} s", flush=True)
        items = cuts_truth(minutes * 60.0)
        truth_file.write_text(json.dumps({"seconds": minutes * 60.0, "items": [asdict(t) for t in items]}, indent=1))
        return path, items
    said = TALK_SPEECH if kind == "talk" else BUSY_SPEECH
    audio, lengths = speech_track(kind, said)
    unit_path = CACHE / f"{kind}10.mp4"
    if not unit_path.exists():
        began = time.perf_counter()
        (make_talk_unit if kind == "talk" else make_busy_unit)(unit_path.with_suffix(".part.mp4"), audio)
        unit_path.with_suffix(".part.mp4").rename(unit_path)
        print(f"made {unit_path.name} in {time.perf_counter() - began:.0f} s", flush=True)
    unit = unit_truth(kind, lengths)
    copies = minutes // 10
    if copies > 1:
        began = time.perf_counter()
        concat_copies(unit_path, copies, path, faststart=True)
        print(f"made {path.name} in {time.perf_counter() - began:.0f} s", flush=True)
    items = [Truth(t.kind, t.start + k * UNIT, t.end + k * UNIT, t.text) for k in range(copies) for t in unit]
    truth_file.write_text(json.dumps({"seconds": copies * UNIT, "items": [asdict(t) for t in items]}, indent=1))
    return path, items
