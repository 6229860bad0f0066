"""On-screen text with rapidocr (onnxruntime): the lines read on one frame, or on one region of it.

Detection small, recognition sharp: the text detector (PP-OCR DBNet) runs on a copy of the frame
(or region) scaled so that the frame's short side is ``det_side`` pixels (``VIDEOQA_OCR_DET_SIDE``),
and the recogniser reads each line found from the frame at its own resolution (a crop of the
full-size frame, straightened; enlarged bicubically for a frame under ``REC_SIDE`` px on its short
side), all lines of a frame in batches. Detection is most of the cost and grows with the pixels
it sees; the recogniser scales every line to 48 px high anyway, so it loses nothing to the
smaller detection. A region (change-gated reading, ``video_qa.analysis.screen_text.gate``) is
detected at the same scale as the whole frame, so a line is found the same way either way.

One detector and one recogniser per instance (ONNX Runtime sessions, ``threads`` intra-op threads
each: ``VIDEOQA_ANALYZER_THREADS``), shared by the worker's threads (a session's ``run`` is
thread-safe). No orientation classifier: video text is not upside down.

This module only reads; what is kept, how readings become tracks and moments with honest
intervals, and which samples are read at all (change gating) is ``video_qa.analysis.screen_text``.
Lines under ``min_score`` and lines with no letter or digit are dropped here.
"""

from __future__ import annotations

import difflib
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from model.loading import InferenceModel

if TYPE_CHECKING:
    from rapidocr import RapidOCR

log = logging.getLogger(__name__)

DET_SIDE = 544  # default short side, in pixels, of the image the detector sees
REC_BATCH = 16  # lines per recogniser call (sorted by width, so padding stays small)
MAX_DET_SIDE = 2000  # no detector input is larger than this on its long side
REC_SIDE = 736  # a line is cut from the frame as if its short side were at least this (small video)


@dataclass(frozen=True)
class Reading:
    """One line of text read on one frame."""

    text: str
    score: float
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels of the frame it was read on
    corners: tuple[tuple[float, float], ...]  # the four corners the detector gave, same pixels

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


def crop_line(image: np.ndarray, box: np.ndarray, upscale: float = 1.0) -> np.ndarray:
    """The line inside ``box`` (4 corners, clockwise from top-left) cut out straight, ``upscale``
    times its size in ``image`` (bicubic), turned upright when it is tall and narrow. rapidocr's own
    crop, with the scale: the recogniser reads small text better from a bicubic enlargement than
    from its own linear resize of a few pixels."""
    import cv2

    pts = np.asarray(box, dtype=np.float32).reshape(4, 2)
    width = max(1, int(max(np.linalg.norm(pts[0] - pts[1]), np.linalg.norm(pts[2] - pts[3])) * upscale))
    height = max(1, int(max(np.linalg.norm(pts[0] - pts[3]), np.linalg.norm(pts[1] - pts[2])) * upscale))
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(pts, target)
    crop = cv2.warpPerspective(image, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE, flags=cv2.INTER_CUBIC)
    return np.rot90(crop) if height / width >= 1.5 else crop


def det_scale(frame_size: tuple[int, int], det_side: int) -> float:
    """The factor from frame pixels to detector pixels: the frame's short side becomes ``det_side``."""
    w, h = frame_size
    return det_side / max(1, min(w, h))


class ScreenText(InferenceModel["RapidOCR"]):
    """rapidocr's detector and recogniser on ``threads`` ONNX Runtime threads each; loads on first
    use."""

    def __init__(self, min_score: float = 0.6, det_side: int = DET_SIDE, threads: int = 1) -> None:
        super().__init__(threads)
        self.min_score = min_score
        self.det_side = det_side
        self.name = "rapidocr (PP-OCR, onnxruntime)"

    def _load(self) -> RapidOCR:
        """One rapidocr engine. The detector takes the image as given (it is scaled before),
        rounded to multiples of 32."""
        from rapidocr import RapidOCR

        params = {
            "Global.log_level": "error",  # "no text on this frame" is not news
            "Global.use_cls": False,
            "Det.limit_type": "max", "Det.limit_side_len": MAX_DET_SIDE,
            "Rec.rec_batch_num": REC_BATCH,
            "EngineConfig.onnxruntime.intra_op_num_threads": self.threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        }
        return RapidOCR(params=params)

    def detect(self, image: np.ndarray, scale: float) -> np.ndarray:
        """Line quadrilaterals (n, 4, 2) float32 in ``image``'s pixels, found on ``image`` scaled
        by ``scale`` (BGR)."""
        import cv2

        engine = self.load()
        h, w = image.shape[:2]
        scale = min(scale, MAX_DET_SIDE / max(h, w))
        small = image
        if abs(scale - 1.0) > 1e-3:
            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            small = cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        found = engine(small, use_det=True, use_cls=False, use_rec=False)
        boxes = getattr(found, "boxes", None)
        if boxes is None or len(boxes) == 0:
            return np.zeros((0, 4, 2), dtype=np.float32)
        sy, sx = h / small.shape[0], w / small.shape[1]
        return (np.asarray(boxes, dtype=np.float32).reshape(-1, 4, 2) * np.array([sx, sy], dtype=np.float32))

    def recognize(self, image: np.ndarray, boxes: np.ndarray, upscale: float = 1.0) -> list[tuple[str, float]]:
        """(text, score) of each line, read from ``image`` (BGR, full resolution) inside its box,
        cut out at ``upscale`` times its size."""
        if len(boxes) == 0:
            return []
        engine = self.load()
        crops = [crop_line(image, box, upscale) for box in boxes]
        keep = [i for i, c in enumerate(crops) if c.shape[0] >= 2 and c.shape[1] >= 2]
        out: list[tuple[str, float]] = [("", 0.0)] * len(crops)
        if keep:
            found = engine.recognize_txt([crops[i] for i in keep])
            for i, text, score in zip(keep, found.txts, found.scores):
                out[i] = (text, float(score))
        return out

    def read_frame(self, frame: np.ndarray, region: tuple[int, int, int, int] | None = None) -> list[Reading]:
        """Every line on one RGB frame with score >= min_score and at least one letter or digit;
        ``region`` (x0, y0, x1, y1) reads only that part, boxes still in the frame's pixels."""
        h, w = frame.shape[:2]
        scale = det_scale((w, h), self.det_side)
        dx = dy = 0
        if region is not None:
            x0, y0, x1, y1 = region
            frame, dx, dy = frame[y0:y1, x0:x1], x0, y0
        if frame.size == 0:
            return []
        bgr = np.ascontiguousarray(frame[:, :, ::-1])  # rapidocr takes BGR like OpenCV
        boxes = self.detect(bgr, scale)
        lines = self.recognize(bgr, boxes, max(1.0, REC_SIDE / max(1, min(w, h))))
        return [
            _reading(text, score, box, dx, dy)
            for (text, score), box in zip(lines, boxes)
            if text.strip() and score >= self.min_score and any(ch.isalnum() for ch in text)
        ]
