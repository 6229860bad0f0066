"""Change-gated reading of on-screen text: a sample whose picture has not changed since the last
frame read is not read again (its readings are carried, so its text tracks are extended), and a
sample that changed in one region is read only there (docs/moments.md)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from model.ocr import Reading
from video_qa.analysis.screen_text.tracks import intersects

GATE_GRID = (128, 72)  # grayscale thumbnail compared between samples
GATE_LEVEL = 12.0  # a cell whose mean grey changed by more than this (0-255) changed
GATE_FULL = 0.45  # a changed region larger than this share of the frame is read whole
GATE_PAD = 16  # pixels around a changed region read on its own


def thumbnail(frame: np.ndarray) -> np.ndarray:
    import cv2  # opencv ships with rapidocr

    gray = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)
    return cv2.resize(gray, GATE_GRID, interpolation=cv2.INTER_AREA).astype(np.float32)


def changed_region(ref: np.ndarray, cur: np.ndarray, size: tuple[int, int],
                   keep: Sequence[Reading] = ()) -> tuple[int, int, int, int] | None | str:
    """None when nothing changed, "full" when much did, else the pixel region (x0, y0, x1, y1)
    that changed, grown to whole lines already read there."""
    mask = np.abs(cur - ref) > GATE_LEVEL
    if not mask.any():
        return None
    w, h = size
    gx, gy = w / GATE_GRID[0], h / GATE_GRID[1]
    ys, xs = np.nonzero(mask)
    x0, y0 = xs.min() * gx - GATE_PAD, ys.min() * gy - GATE_PAD
    x1, y1 = (xs.max() + 1) * gx + GATE_PAD, (ys.max() + 1) * gy + GATE_PAD
    for r in keep:  # a line partly inside is read again whole
        if intersects(r.box, (x0, y0, x1, y1)):
            x0, y0 = min(x0, r.box[0] - GATE_PAD), min(y0, r.box[1] - GATE_PAD)
            x1, y1 = max(x1, r.box[2] + GATE_PAD), max(y1, r.box[3] + GATE_PAD)
    x0, y0, x1, y1 = max(0, int(x0)), max(0, int(y0)), min(w, int(np.ceil(x1))), min(h, int(np.ceil(y1)))
    if (x1 - x0) * (y1 - y0) > GATE_FULL * w * h:
        return "full"
    return x0, y0, x1, y1


@dataclass
class GateStats:
    samples: int = 0
    read: int = 0  # read whole
    partial: int = 0  # only a changed region read
    skipped: int = 0  # unchanged: readings carried

    def as_dict(self) -> dict[str, int]:
        return {"samples": self.samples, "read": self.read, "partial": self.partial, "skipped": self.skipped}


def read_samples(read: Callable[..., list[Reading]], frames: Iterable[np.ndarray], gate: bool = True,
                 ) -> tuple[list[list[Reading]], GateStats]:
    """Readings per frame; with ``gate``, a frame unchanged since what was last read is not read
    again (its readings are carried, so its tracks are extended), and a frame changed in one
    region is read only there. ``read(frame, region=None)`` is ``ScreenText.read_frame``. ``frames``
    is iterated once, in order (a clip's frames as they are decoded): no frame is kept."""
    stats = GateStats()
    out: list[list[Reading]] = []
    ref: np.ndarray | None = None
    for frame in frames:
        stats.samples += 1
        h, w = frame.shape[:2]
        thumb = thumbnail(frame) if gate else None
        region = "full" if ref is None or thumb is None else changed_region(ref, thumb, (w, h), out[-1])
        if region is None:
            stats.skipped += 1
            out.append(out[-1])
            continue
        if region == "full":
            stats.read += 1
            out.append(read(frame))
            ref = thumb
            continue
        x0, y0, x1, y1 = region  # type: ignore[misc]
        stats.partial += 1
        kept = [r for r in out[-1] if not intersects(r.box, (x0, y0, x1, y1))]
        out.append(kept + read(frame, region=(x0, y0, x1, y1)))
        gx, gy = GATE_GRID[0] / w, GATE_GRID[1] / h
        cy0, cy1, cx0, cx1 = int(y0 * gy), int(np.ceil(y1 * gy)), int(x0 * gx), int(np.ceil(x1 * gx))
        ref = ref.copy()  # type: ignore[union-attr]
        ref[cy0:cy1, cx0:cx1] = thumb[cy0:cy1, cx0:cx1]  # type: ignore[index]
    return out, stats
