"""On-screen text with rapidocr (onnxruntime): lines read on sampled frames, merged into spans.

Identical or near-identical text (case, spacing and punctuation folded; similarity at least
``similarity``) on consecutive samples becomes one span: its start is the first frame it was seen
on, its end the last. Lines under ``min_score`` are dropped. Each span keeps its best box.
"""

from __future__ import annotations

import difflib
import logging
import re
import threading
from dataclasses import dataclass, field

import numpy as np

log = logging.getLogger(__name__)


@dataclass(eq=False)  # spans are tracked by identity while they are open
class TextSpan:
    start: float
    end: float
    text: str
    score: float
    box: list[list[float]]  # four corners, pixels of the frame it was read on
    frame_size: tuple[int, int]  # (width, height) of that frame
    seen: int = 1  # samples it was read on
    meta: dict = field(default_factory=dict)


def fold(text: str) -> str:
    return re.sub(r"[^\w]+", " ", text.casefold()).strip()


def similar(a: str, b: str, threshold: float) -> bool:
    fa, fb = fold(a), fold(b)
    return fa == fb or (bool(fa) and bool(fb) and difflib.SequenceMatcher(None, fa, fb).ratio() >= threshold)


class ScreenText:
    def __init__(self, min_score: float = 0.6, similarity: float = 0.8) -> None:
        self.min_score = min_score
        self.similarity = similarity
        self.name = "rapidocr (PP-OCR, onnxruntime)"
        self._engine = None
        self._lock = threading.Lock()

    def _load(self):  # type: ignore[no-untyped-def]
        with self._lock:
            if self._engine is None:
                from rapidocr import RapidOCR

                self._engine = RapidOCR(params={"Global.log_level": "error"})  # "no text on this frame" is not news
            return self._engine

    def read_frame(self, frame: np.ndarray) -> list[tuple[str, float, list[list[float]]]]:
        """(text, score, box) of every line on one RGB frame with score >= min_score."""
        engine = self._load()
        result = engine(np.ascontiguousarray(frame[:, :, ::-1]))  # rapidocr takes BGR like OpenCV
        if result.txts is None:
            return []
        lines = []
        for text, score, box in zip(result.txts, result.scores, result.boxes):
            if score >= self.min_score and fold(text):
                lines.append((text.strip(), float(score), np.asarray(box, dtype=float).tolist()))
        return lines

    def spans(self, frames: list[np.ndarray], times: list[float]) -> list[TextSpan]:
        """Text spans over frames sampled in time order."""
        done: list[TextSpan] = []
        open_spans: list[TextSpan] = []
        for frame, t in zip(frames, times):
            lines = self.read_frame(frame)
            still_open: list[TextSpan] = []
            for text, score, box in lines:
                match = next((s for s in open_spans if s not in still_open and similar(s.text, text, self.similarity)), None)
                if match is None:
                    h, w = frame.shape[:2]
                    still_open.append(TextSpan(t, t, text, score, box, (w, h)))
                    continue
                match.end = t
                match.seen += 1
                if score > match.score:
                    match.text, match.score, match.box = text, score, box
                still_open.append(match)
            done.extend(s for s in open_spans if s not in still_open)
            open_spans = still_open
        done.extend(open_spans)
        return sorted(done, key=lambda s: (s.start, s.end))
