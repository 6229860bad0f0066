"""Faces in a frame: MTCNN (the facenet-pytorch weights) run by ONNX Runtime, without PyTorch.

The three networks' weights ship inside the ``facenet-pytorch`` wheel (``data/pnet.pt``,
``rnet.pt``, ``onet.pt``; MIT); the export (``model.vision.faces_export``, once, into
``<models>/faces/``) writes them as three ONNX graphs. The cascade around them is facenet-pytorch's
``detect_face`` in numpy, step for step (``tests/model/vision`` compares it with the PyTorch
original on real photographs):

1. an image pyramid from ``12 / min_face`` down by ``factor`` while the shorter side is at least
   12 pixels, each level resized by area averaging (``interpolate(mode="area")``), pixels
   ``(x - 127.5) / 128``; P-Net proposes 12 x 12 windows scoring at least ``thresholds[0]``,
   non-maximum suppression (IoU 0.5) per level, then 0.7 over all levels, box regression, squared;
2. R-Net rescores each proposal's 24 x 24 crop: above ``thresholds[1]``, suppression 0.7,
   regression, squared;
3. O-Net on 48 x 48 crops: above ``thresholds[2]``, regression, landmarks, suppression by the
   overlap over the smaller box (0.7).

``detect(frame)`` returns the faces, most probable first: box ``(x0, y0, x1, y1)`` in the frame's
pixels, O-Net's probability and the five landmarks.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from model.vision.exported import ExportedModel
from model.vision.exports import export_folder, files_identity, onnx_session

KIND = "faces"
KEY = "mtcnn"
PACKAGE = "facenet_pytorch"
NETS = ("pnet", "rnet", "onet")
WEIGHTS = {net: f"data/{net}.pt" for net in NETS}  # inside the package
GRAPHS = {net: f"{net}.onnx" for net in NETS}
MIN_FACE = 20  # pixels: the smallest face the pyramid looks for (facenet-pytorch's default)
THRESHOLDS = (0.6, 0.7, 0.7)  # per stage, facenet-pytorch's defaults
FACTOR = 0.709
ARENA = False  # no CPU memory arena: the pyramid's many input sizes grew it (issue 28)


@dataclass(frozen=True)
class Face:
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in the frame's pixels
    score: float  # O-Net's probability that the box holds a face
    landmarks: tuple[tuple[float, float], ...]  # eyes, nose, mouth corners (x, y)


def package_folder() -> Path | None:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def source_identity() -> dict[str, Any] | None:
    folder = package_folder()
    if folder is None or not all((folder / path).is_file() for path in WEIGHTS.values()):
        return None
    return {"folder": str(folder), "files": files_identity({net: folder / path for net, path in WEIGHTS.items()})}


def export_location(models_dir: Path) -> Path:
    return export_folder(models_dir, KIND, KEY)


class Integral:
    """A frame's summed-area table: any rectangle of it resized as torch's
    ``interpolate(mode="area")`` does (adaptive average pooling: output cell i of a side of
    length L resized to n averages input cells floor(i*L/n) to ceil((i+1)*L/n), uniformly), by
    four look-ups per output cell. Exact for uint8 frames (integer sums)."""

    def __init__(self, image: np.ndarray) -> None:
        channels, height, width = image.shape
        if np.issubdtype(image.dtype, np.integer):  # int32 holds the sums of up to 8.4 million pixels
            kind: type = np.int32 if height * width * int(np.iinfo(image.dtype).max) < 2**31 else np.int64
        else:
            kind = np.float64
        self.table = np.zeros((channels, height + 1, width + 1), dtype=kind)
        np.cumsum(np.cumsum(image, axis=1, dtype=kind), axis=2, out=self.table[:, 1:, 1:])
        self.height, self.width = height, width

    def resize(self, height: int, width: int) -> np.ndarray:
        """The whole frame as (C, height, width) float32 (rows, then columns, taken along an axis)."""
        row0, row1 = (b[0] for b in _bounds(np.array([0]), np.array([self.height]), height))
        col0, col1 = (b[0] for b in _bounds(np.array([0]), np.array([self.width]), width))
        top, bottom = np.take(self.table, row0, axis=1), np.take(self.table, row1, axis=1)
        sums = (np.take(bottom, col1, axis=2) - np.take(top, col1, axis=2)
                - np.take(bottom, col0, axis=2) + np.take(top, col0, axis=2))
        counts = (row1 - row0)[:, None] * (col1 - col0)[None, :]
        return (sums / counts[None]).astype(np.float32)

    def crops(self, corners: np.ndarray, height: int, width: int) -> np.ndarray:
        """Rectangles ``corners`` (n, 4: x0, y0, x1, y1, end exclusive) as (n, C, height, width) float32."""
        row0, row1 = _bounds(corners[:, 1], corners[:, 3], height)
        col0, col1 = _bounds(corners[:, 0], corners[:, 2], width)
        t = self.table
        r1, r0, c1, c0 = row1[:, :, None], row0[:, :, None], col1[:, None, :], col0[:, None, :]
        sums = t[:, r1, c1] - t[:, r0, c1] - t[:, r1, c0] + t[:, r0, c0]  # (C, n, height, width)
        counts = (row1 - row0)[:, :, None] * (col1 - col0)[:, None, :]
        return (sums / counts[None]).astype(np.float32).transpose(1, 0, 2, 3)


def _bounds(start: np.ndarray, end: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, size) first and one-past-last input index of each output cell, per rectangle."""
    length = (end - start)[:, None]
    index = np.arange(size)[None, :]
    return start[:, None] + (index * length) // size, start[:, None] - ((-(index + 1) * length) // size)


def area_resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """(C, H, W) resized to (C, height, width) float32 as torch's ``interpolate(mode="area")``."""
    return Integral(image).resize(height, width)


def nms(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> np.ndarray:
    """torchvision's ``nms``: indices kept, by decreasing score; IoU without the +1 pixel."""
    order = np.argsort(-scores, kind="stable")
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    keep = []
    while order.size:
        i, rest = order[0], order[1:]
        keep.append(i)
        w = np.maximum(0.0, np.minimum(boxes[i, 2], boxes[rest, 2]) - np.maximum(boxes[i, 0], boxes[rest, 0]))
        h = np.maximum(0.0, np.minimum(boxes[i, 3], boxes[rest, 3]) - np.maximum(boxes[i, 1], boxes[rest, 1]))
        inter = w * h
        iou = inter / np.maximum(area[i] + area[rest] - inter, 1e-12)
        order = rest[iou <= threshold]
    return np.asarray(keep, dtype=np.int64)


def nms_min(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> np.ndarray:
    """facenet-pytorch's ``nms_numpy(..., "Min")``: overlap over the smaller box, +1 pixel areas."""
    x1, y1, x2, y2 = (boxes[:, k] for k in range(4))
    area = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = np.argsort(scores)
    keep = []
    while order.size:
        i, rest = order[-1], order[:-1]
        keep.append(i)
        w = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]) + 1)
        h = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]) + 1)
        overlap = (w * h) / np.minimum(area[i], area[rest])
        order = rest[overlap <= threshold]
    return np.asarray(keep, dtype=np.int64)


def _square(boxes: np.ndarray) -> np.ndarray:
    """facenet-pytorch's ``rerec``: each box made square around its centre (its longer side)."""
    boxes = boxes.copy()
    h = boxes[:, 3] - boxes[:, 1]
    w = boxes[:, 2] - boxes[:, 0]
    side = np.maximum(w, h)
    boxes[:, 0] = boxes[:, 0] + w * 0.5 - side * 0.5
    boxes[:, 1] = boxes[:, 1] + h * 0.5 - side * 0.5
    boxes[:, 2] = boxes[:, 0] + side
    boxes[:, 3] = boxes[:, 1] + side
    return boxes


def _regress(boxes: np.ndarray, reg: np.ndarray) -> np.ndarray:
    """facenet-pytorch's ``bbreg`` (offsets in units of the +1 pixel width and height)."""
    boxes = boxes.copy()
    w = boxes[:, 2] - boxes[:, 0] + 1
    h = boxes[:, 3] - boxes[:, 1] + 1
    boxes[:, 0] += reg[:, 0] * w
    boxes[:, 1] += reg[:, 1] * h
    boxes[:, 2] += reg[:, 2] * w
    boxes[:, 3] += reg[:, 3] * h
    return boxes


def _crops(frame: Integral, boxes: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(normalised size x size crops, indices of the boxes they come from), as facenet-pytorch's
    ``pad`` and slicing ``[y - 1:ey, x - 1:ex]`` cut them."""
    corners = np.trunc(boxes[:, :4]).astype(np.int64)
    x0 = np.maximum(corners[:, 0], 1) - 1
    y0 = np.maximum(corners[:, 1], 1) - 1
    x1 = np.minimum(corners[:, 2], frame.width)
    y1 = np.minimum(corners[:, 3], frame.height)
    valid = np.flatnonzero((y1 > y0) & (x1 > x0))
    if not len(valid):
        return np.zeros((0, 3, size, size), dtype=np.float32), valid
    data = frame.crops(np.stack([x0, y0, x1, y1], axis=1)[valid], size, size)
    return (data - np.float32(127.5)) * np.float32(0.0078125), valid


@dataclass
class _Runtime:
    pnet: Any
    rnet: Any
    onet: Any


class FaceDetector(ExportedModel[_Runtime]):
    """MTCNN on frames (see module doc); safe from several threads."""

    kind = KIND
    name = "MTCNN face detector (facenet-pytorch weights, ONNX Runtime)"
    missing = f"the {PACKAGE} package (MTCNN weights) is not installed"

    def __init__(self, models_dir: Path, *, min_face: int = MIN_FACE, thresholds: tuple[float, float, float] = THRESHOLDS,
                 factor: float = FACTOR, threads: int | None = 1) -> None:
        super().__init__(models_dir, threads)
        self.min_face = int(min_face)
        self.thresholds = tuple(float(t) for t in thresholds)
        self.factor = float(factor)

    @staticmethod
    def installed() -> bool:
        return source_identity() is not None

    @property
    def folder(self) -> Path:
        return export_location(self.models_dir)

    def source(self) -> dict[str, Any] | None:
        return source_identity()

    def export_argv(self) -> list[str]:
        return ["faces", str(self.models_dir)]

    def unavailable(self, why: str) -> str:
        return f"labels: the face detector cannot be used ({why})"

    def _open(self, folder: Path, manifest: dict[str, Any]) -> _Runtime:
        return _Runtime(*(onnx_session(folder / manifest["graphs"][net]["file"], self.threads, arena=ARENA) for net in NETS))

    def detect(self, frame: np.ndarray) -> list[Face]:
        """The faces in one HxWx3 uint8 RGB frame, most probable first."""
        runtime = self.load()
        image = Integral(np.asarray(frame)[:, :, :3].transpose(2, 0, 1))
        boxes = self._propose(runtime, image)
        if len(boxes):
            boxes = self._refine(runtime, image, boxes)
        if not len(boxes):
            return []
        boxes, points = self._output(runtime, image, boxes)
        order = np.argsort(-boxes[:, 4], kind="stable")
        return [Face(tuple(float(v) for v in boxes[i, :4]), float(boxes[i, 4]),  # type: ignore[arg-type]
                     tuple((float(x), float(y)) for x, y in points[i])) for i in order]

    def _scales(self, height: int, width: int) -> list[float]:
        scale = 12.0 / self.min_face
        shortest = min(height, width) * scale
        scales = []
        while shortest >= 12:
            scales.append(scale)
            scale *= self.factor
            shortest *= self.factor
        return scales

    def _propose(self, runtime: _Runtime, image: Integral) -> np.ndarray:
        height, width = image.height, image.width
        found = []
        for scale in self._scales(height, width):
            level = image.resize(int(height * scale + 1), int(width * scale + 1))
            level = (level - np.float32(127.5)) * np.float32(0.0078125)
            reg, probs = runtime.pnet.run(None, {"image": level[None]})
            score = probs[0, 1]
            ys, xs = np.nonzero(score >= self.thresholds[0])
            if not len(ys):
                continue
            corner = np.stack([xs, ys], axis=1).astype(np.float32)
            q1 = np.floor((2 * corner + 1) / scale)
            q2 = np.floor((2 * corner + 12) / scale)
            boxes = np.concatenate([q1, q2, score[ys, xs][:, None], reg[0][:, ys, xs].T], axis=1)
            found.append(boxes[nms(boxes[:, :4], boxes[:, 4], 0.5)])
        if not found:
            return np.zeros((0, 5), dtype=np.float32)
        boxes = np.concatenate(found)
        boxes = boxes[nms(boxes[:, :4], boxes[:, 4], 0.7)]
        w = boxes[:, 2] - boxes[:, 0]
        h = boxes[:, 3] - boxes[:, 1]
        moved = np.stack([boxes[:, 0] + boxes[:, 5] * w, boxes[:, 1] + boxes[:, 6] * h,
                          boxes[:, 2] + boxes[:, 7] * w, boxes[:, 3] + boxes[:, 8] * h, boxes[:, 4]], axis=1)
        return _square(moved)

    def _refine(self, runtime: _Runtime, image: Integral, boxes: np.ndarray) -> np.ndarray:
        crops, valid = _crops(image, boxes, 24)
        if not len(valid):
            return np.zeros((0, 5), dtype=np.float32)
        reg, probs = runtime.rnet.run(None, {"image": crops})
        score = probs[:, 1]
        passed = score > self.thresholds[1]
        boxes = np.concatenate([boxes[valid][passed, :4], score[passed, None]], axis=1)
        reg = reg[passed]
        keep = nms(boxes[:, :4], boxes[:, 4], 0.7)
        return _square(_regress(boxes[keep], reg[keep]))

    def _output(self, runtime: _Runtime, image: Integral, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        crops, valid = _crops(image, boxes, 48)
        if not len(valid):
            return np.zeros((0, 5), dtype=np.float32), np.zeros((0, 5, 2), dtype=np.float32)
        reg, landmarks, probs = runtime.onet.run(None, {"image": crops})
        score = probs[:, 1]
        passed = score > self.thresholds[2]
        boxes = np.concatenate([boxes[valid][passed, :4], score[passed, None]], axis=1)
        landmarks, reg = landmarks[passed], reg[passed]
        w = boxes[:, 2] - boxes[:, 0] + 1
        h = boxes[:, 3] - boxes[:, 1] + 1
        points = np.stack([w[:, None] * landmarks[:, :5] + boxes[:, [0]] - 1,
                           h[:, None] * landmarks[:, 5:10] + boxes[:, [1]] - 1], axis=2)
        boxes = _regress(boxes, reg)
        keep = nms_min(boxes[:, :4], boxes[:, 4], 0.7)
        return boxes[keep], points[keep]
