"""The numpy/PIL preprocessing equals the PyTorch transforms the models were trained with."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from model.vision.images import Preprocess, probe_frames
from tests.model.vision.conftest import photo


@pytest.mark.parametrize("resize_mode", ["shortest", "squash"])
def test_equals_open_clips_transform(resize_mode: str) -> None:
    from open_clip.transform import PreprocessCfg, image_transform_v2

    mean, std = (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)
    transform = image_transform_v2(PreprocessCfg(size=224, mean=mean, std=std, resize_mode=resize_mode), is_train=False)
    ours = Preprocess(size=224, mean=mean, std=std, resize_mode=resize_mode)
    for frame in [photo("chelsea"), photo("astronaut"), *probe_frames()]:
        expected = transform(Image.fromarray(frame)).numpy()
        assert np.abs(ours.image(frame) - expected).max() <= 1e-5


def test_equals_timms_center_crop_transform() -> None:
    from timm.data import create_transform

    transform = create_transform(224, interpolation="bicubic", crop_pct=0.875, mean=(0.5,) * 3, std=(0.5,) * 3)
    ours = Preprocess(size=224, resize=256, mean=(0.5,) * 3, std=(0.5,) * 3)
    for frame in [photo("coffee"), *probe_frames()]:
        assert np.abs(ours.image(frame) - transform(Image.fromarray(frame)).numpy()).max() <= 1e-5


def test_batches_and_refusals() -> None:
    ours = Preprocess(size=32, mean=(0.5,) * 3, std=(0.25,) * 3)
    assert ours.batch([]).shape == (0, 3, 32, 32)
    gray = np.full((40, 50), 128, np.uint8)
    assert np.allclose(ours.batch([gray, gray])[:, :, 0, 0], (128 / 255 - 0.5) / 0.25, atol=1e-6)
    with pytest.raises(ValueError):
        ours.image(np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ValueError):
        Preprocess(size=32, mean=(0.5,) * 3, std=(0.5,) * 3, resize_mode="longest")
    assert Preprocess.from_dict(ours.as_dict()) == ours
