"""MTCNN in numpy + ONNX Runtime against facenet-pytorch's own PyTorch cascade."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from model.vision.faces import FaceDetector, area_resize, nms
from tests.model.vision.conftest import photo, scaled


def trio() -> np.ndarray:
    """A 640x360 frame with three copies of the astronaut's portrait side by side."""
    small = np.asarray(Image.fromarray(photo("astronaut")).resize((210, 210), Image.Resampling.BICUBIC))
    frame = np.zeros((360, 640, 3), np.uint8)
    for k in range(3):
        frame[75:285, 5 + 212 * k:215 + 212 * k] = small
    return frame


def reference(frame: np.ndarray) -> list[tuple[tuple[float, ...], float]]:
    from facenet_pytorch import MTCNN

    boxes, probs = MTCNN(keep_all=True, device="cpu").detect(Image.fromarray(frame))
    if boxes is None:
        return []
    return sorted(((tuple(float(v) for v in box), float(p)) for box, p in zip(boxes, probs, strict=True)),
                  key=lambda item: item[0][0])


@pytest.mark.parametrize("name", ["astronaut", "trio", "chelsea", "coffee"])
def test_faces_equal_facenet_pytorchs(faces: FaceDetector, name: str) -> None:
    frame = trio() if name == "trio" else scaled(photo(name), 640)
    found = sorted(faces.detect(frame), key=lambda face: face.box[0])
    expected = reference(frame)
    assert len(found) == len(expected) == {"astronaut": 1, "trio": 3, "chelsea": 0, "coffee": 0}[name]
    for face, (box, probability) in zip(found, expected, strict=True):
        assert np.abs(np.array(face.box) - np.array(box)).max() <= 0.5
        assert abs(face.score - probability) <= 1e-4
        assert face.score >= 0.99 and len(face.landmarks) == 5


def test_faces_come_most_probable_first_with_landmarks_inside_the_box(faces: FaceDetector) -> None:
    found = faces.detect(trio())
    assert [f.score for f in found] == sorted((f.score for f in found), reverse=True)
    for face in found:
        x0, y0, x1, y1 = face.box
        assert all(x0 <= x <= x1 and y0 <= y <= y1 for x, y in face.landmarks)


def test_area_resize_equals_torch_interpolate_area() -> None:
    import torch

    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, size=(3, 97, 131), dtype=np.uint8)
    for height, width in ((48, 65), (24, 24), (97, 131), (13, 200), (70, 30)):
        expected = torch.nn.functional.interpolate(torch.from_numpy(image.astype(np.float32))[None], size=(height, width),
                                                   mode="area")[0].numpy()
        assert np.abs(area_resize(image, height, width) - expected).max() <= 1e-3


def test_nms_equals_torchvisions() -> None:
    import torch
    from torchvision.ops import nms as reference_nms

    rng = np.random.default_rng(2)
    corners = rng.uniform(0, 200, size=(300, 2)).astype(np.float32)
    boxes = np.concatenate([corners, corners + rng.uniform(5, 60, size=(300, 2)).astype(np.float32)], axis=1)
    scores = rng.uniform(0, 1, size=300).astype(np.float32)
    for threshold in (0.3, 0.5, 0.7):
        expected = reference_nms(torch.from_numpy(boxes), torch.from_numpy(scores), threshold).numpy()
        assert nms(boxes, scores, threshold).tolist() == expected.tolist()
