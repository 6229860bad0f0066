"""Turning RGB frames into the float tensors an image model was trained on, with numpy and PIL only.

``Preprocess`` is the evaluation transform of open_clip and timm (torchvision on a PIL image),
reproduced value for value so that an ONNX graph sees what the PyTorch model saw:

- ``resize_mode="shortest"``: the shorter side resized to ``resize`` (the longer side to
  ``int(resize * long / short)``, truncated as torchvision does), then a centred ``size`` x ``size``
  crop (offsets rounded as torchvision rounds them);
- ``resize_mode="squash"``: both sides resized to ``size`` (the aspect ratio is not kept);

PIL's resampling filter (bicubic or bilinear, with its antialiasing), pixels scaled to [0, 1], then
``(x - mean) / std`` per channel, channels first. ``batch`` stacks frames into (n, 3, size, size)
float32.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

RESIZE_MODES = ("shortest", "squash")
INTERPOLATIONS = ("bicubic", "bilinear")


@dataclass(frozen=True)
class Preprocess:
    size: int  # the side of the square the model takes
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    interpolation: str = "bicubic"
    resize_mode: str = "shortest"
    resize: int | None = None  # the shorter side before the crop ("shortest"); None: ``size``

    def __post_init__(self) -> None:
        if self.resize_mode not in RESIZE_MODES:
            raise ValueError(f"resize mode {self.resize_mode!r} is not one of {RESIZE_MODES}")
        if self.interpolation not in INTERPOLATIONS:
            raise ValueError(f"interpolation {self.interpolation!r} is not one of {INTERPOLATIONS}")
        if self.resize is not None and self.resize < self.size:
            raise ValueError(f"resize {self.resize} is smaller than the crop {self.size}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> Preprocess:
        return cls(size=int(value["size"]), mean=_triple(value["mean"]), std=_triple(value["std"]),
                   interpolation=str(value.get("interpolation", "bicubic")),
                   resize_mode=str(value.get("resize_mode", "shortest")),
                   resize=None if value.get("resize") is None else int(value["resize"]))

    def image(self, frame: np.ndarray) -> np.ndarray:
        """One HxWx3 uint8 RGB frame as (3, size, size) float32."""
        from PIL import Image

        frame = _rgb(frame)
        picture = Image.fromarray(frame)
        resample = Image.Resampling.BICUBIC if self.interpolation == "bicubic" else Image.Resampling.BILINEAR
        if self.resize_mode == "squash":
            picture = picture.resize((self.size, self.size), resample)
        else:
            width, height = picture.size
            short_target = self.resize or self.size
            short, long = (width, height) if width <= height else (height, width)
            new_long = int(short_target * long / short)
            new_w, new_h = (short_target, new_long) if width <= height else (new_long, short_target)
            if (new_w, new_h) != (width, height):
                picture = picture.resize((new_w, new_h), resample)
            picture = _center_crop(picture, self.size)
        pixels = np.asarray(picture, dtype=np.float32) / np.float32(255.0)
        pixels = (pixels - np.asarray(self.mean, dtype=np.float32)) / np.asarray(self.std, dtype=np.float32)
        return np.ascontiguousarray(pixels.transpose(2, 0, 1), dtype=np.float32)

    def batch(self, frames: Sequence[np.ndarray]) -> np.ndarray:
        """(len(frames), 3, size, size) float32."""
        if not frames:
            return np.zeros((0, 3, self.size, self.size), dtype=np.float32)
        return np.stack([self.image(frame) for frame in frames])


def probe_frames() -> list[np.ndarray]:
    """Generated RGB frames of several shapes (landscape, portrait, small, odd sizes)."""
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:240, 0:320]
    gradient = np.stack([x * 255 // 319, y * 255 // 239, (x + y) % 256], axis=2).astype(np.uint8)
    checks = (((np.mgrid[0:301, 0:199].sum(axis=0) // 16) % 2) * 255).astype(np.uint8)
    portrait = np.stack([checks, 255 - checks, checks // 2], axis=2)
    noise = rng.integers(0, 256, size=(57, 91, 3), dtype=np.uint8)
    return [gradient, portrait, noise]


def _triple(value: Any) -> tuple[float, float, float]:
    items = [float(v) for v in value]
    if len(items) == 1:
        items = items * 3
    if len(items) != 3:
        raise ValueError(f"expected 3 channel values, got {value!r}")
    return items[0], items[1], items[2]


def _rgb(frame: np.ndarray) -> np.ndarray:
    array = np.asarray(frame)
    if array.dtype != np.uint8:
        raise ValueError(f"frames are uint8 RGB, got {array.dtype}")
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise ValueError(f"frames are HxWx3, got shape {array.shape}")
    return np.ascontiguousarray(array[:, :, :3])


def _center_crop(picture: Any, size: int) -> Any:
    """torchvision's ``center_crop`` of a PIL image at least ``size`` on each side."""
    width, height = picture.size
    top = int(round((height - size) / 2.0))
    left = int(round((width - size) / 2.0))
    return picture.crop((left, top, left + size, top + size))
