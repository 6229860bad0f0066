"""Images/s of each visual backend (see bench/vision/__init__.py): by wall clock and by the
process's CPU time, one intra-op thread, after one warm-up call."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


from bench.vision.footage import photo

PHOTOS = ("chelsea", "astronaut", "coffee", "rocket")
TEXTS = tuple(f"a photo of {w}" for w in ("a dog", "a cat", "a car", "a red bus", "a whiteboard", "a beach",
                                            "a crowd", "a kitchen"))
IMAGE_TEXT = ("ViT-B-32", "MobileCLIP2-S0")


@dataclass(frozen=True)
class Row:
    variant: str
    batch: int
    wall_per_s: float
    cpu_per_s: float
    items: int
    load: float
    unit: str = "images"


def timed(call: Callable[[], object], per_call: int, seconds: float) -> tuple[float, float, int]:
    """(items/s by wall clock, items/s by CPU time, items) of ``call`` repeated for ``seconds``."""
    call()
    done, wall0, cpu0 = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - wall0 < seconds or done < 8:
        call()
        done += per_call
    return done / (time.perf_counter() - wall0), done / max(time.process_time() - cpu0, 1e-9), done


def measure(models_dir: Path, seconds: float, threads: int = 1) -> list[Row]:
    """Every variant's row; a variant whose export cannot be made is left out with a message."""
    from model.vision.classify import ImageNetClassifier
    from model.vision.clip import ImageTextEmbedder
    from model.vision.faces import FaceDetector

    frames = [photo(name) for name in PHOTOS]
    eight = (frames * 2)[:8]
    rows: list[Row] = []

    def row(variant: str, batch: int, call: Callable[[], object], per_call: int, unit: str = "images") -> None:
        load = os.getloadavg()[0]
        wall, cpu, done = timed(call, per_call, seconds)
        rows.append(Row(variant, batch, wall, cpu, done, load, unit))
        print(f"{variant}, batch {batch}: {wall:.1f} {unit}/s wall, {cpu:.1f} by CPU time (load {load:.1f})", flush=True)

    classifier = ImageNetClassifier(models_dir, batch_size=8, threads=threads)
    for batch in (1, 8):
        classifier.batch_size = batch
        chunk = eight[:batch]
        row("EfficientNet-Lite0 fp32", batch, lambda c=chunk: classifier.probabilities(c), batch)
    faces = FaceDetector(models_dir, threads=threads)
    row(f"MTCNN, whole 640x360 frame, smallest face {faces.min_face} px", 1, lambda: [faces.detect(f) for f in frames],
        len(frames))
    for arch in IMAGE_TEXT:
        for int8 in (False, True):
            embedder = ImageTextEmbedder(f"random:{arch}", models_dir, int8=int8, batch_size=8, threads=threads)
            variant = f"open_clip {arch} (random weights) {'MatMul int8' if int8 else 'fp32'}"
            try:
                embedder.load()
            except RuntimeError as error:
                print(f"{variant}: left out ({error})", flush=True)
                continue
            row(variant, 8, lambda e=embedder: e.encode_images(eight), 8)
            row(variant.replace(arch, f"{arch} text tower"), 8, lambda e=embedder: e.encode_text(list(TEXTS)), 8,
                "texts")
    return rows


def table(rows: list[Row]) -> str:
    lines = ["| variant | batch | per s (wall) | per s (CPU time) | ms CPU each | counted | load avg |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    lines += [f"| {r.variant} | {r.batch} | {r.wall_per_s:.1f} {r.unit} | {r.cpu_per_s:.1f} {r.unit} | "
              f"{1000 / r.cpu_per_s:.0f} | {r.items} | {r.load:.1f} |" for r in rows]
    return "\n".join(lines)


def ratio(rows: list[Row], a: str, b: str) -> float:
    """CPU-time throughput of the first row named ``a`` over the first named ``b`` (nan if absent)."""
    found = {r.variant: r.cpu_per_s for r in reversed(rows)}
    return found[a] / found[b] if a in found and b in found else float("nan")



