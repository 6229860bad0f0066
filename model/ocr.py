"""On-screen text with rapidocr (onnxruntime): the lines read on one frame, or on one region of it.

This module only reads; what is kept, how readings become tracks and moments with honest
intervals, and which samples are read at all (change gating) is ``video_qa.text_tracks``.
Lines under ``min_score`` and lines with no letter or digit are dropped here.
"""

from __future__ import annotations

import difflib
import logging
import re
import threading
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reading:
    """One line of text read on one frame."""

    text: str
    score: float
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels of the frame it was read on
    corners: tuple[tuple[float, float], ...]  # the four corners rapidocr gave, same pixels

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]


def fold(text: str) -> str:
    return re.sub(r"[^\w]+", " ", text.casefold()).strip()


def similar(a: str, b: str, threshold: float) -> bool:
    fa, fb = fold(a), fold(b)
    return fa == fb or (bool(fa) and bool(fb) and difflib.SequenceMatcher(None, fa, fb).ratio() >= threshold)


def _reading(text: str, score: float, corners: np.ndarray, dx: float = 0.0, dy: float = 0.0) -> Reading:
    pts = np.asarray(corners, dtype=float).reshape(-1, 2) + (dx, dy)
    box = (float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max()))
    return Reading(text.strip(), float(score), box, tuple((float(x), float(y)) for x, y in pts))


class ScreenText:
    def __init__(self, min_score: float = 0.6) -> None:
        self.min_score = min_score
        self.name = "rapidocr (PP-OCR, onnxruntime)"
        self._engines: dict[bool, object] = {}
        self._lock = threading.Lock()

    def _load(self, region: bool = False):  # type: ignore[no-untyped-def]
        """The whole-frame engine scales a frame up to 736 px on its short side (small text);
        the region engine reads a region at its own size (at most 736 px): scaled up, a
        60x50 region cost 6 times as much to read."""
        with self._lock:
            if region not in self._engines:
                from rapidocr import RapidOCR

                params = {"Global.log_level": "error"}  # "no text on this frame" is not news
                if region:
                    params.update({"Det.limit_type": "max", "Det.limit_side_len": 736})
                self._engines[region] = RapidOCR(params=params)
            return self._engines[region]

    def read_frame(self, frame: np.ndarray, region: tuple[int, int, int, int] | None = None) -> list[Reading]:
        """Every line on one RGB frame with score >= min_score and at least one letter or digit;
        ``region`` (x0, y0, x1, y1) reads only that part, boxes still in the frame's pixels."""
        dx = dy = 0
        if region is not None:
            x0, y0, x1, y1 = region
            frame, dx, dy = frame[y0:y1, x0:x1], x0, y0
        if frame.size == 0:
            return []
        engine = self._load(region is not None)
        result = engine(np.ascontiguousarray(frame[:, :, ::-1]))  # rapidocr takes BGR like OpenCV
        if result.txts is None:
            return []
        return [
            _reading(text, score, box, dx, dy)
            for text, score, box in zip(result.txts, result.scores, result.boxes)
            if score >= self.min_score and any(ch.isalnum() for ch in text)
        ]
