"""The image-text backend on the tiny twin: the real open_clip loading, export and ONNX Runtime path."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from PIL import Image

from model.vision.clip import ImageTextEmbedder, source_identity, twin_folder
from model.vision.exports import file_sha256, read_manifest
from tests.model.vision.conftest import photo

ROOT = Path(__file__).resolve().parents[3]


def reference_model(folder: Path):  # type: ignore[no-untyped-def]
    """The twin loaded by open_clip itself (PyTorch), with its transform and tokenizer."""
    import open_clip

    name = f"local-dir:{folder}"
    model, _, transform = open_clip.create_model_and_transforms(name, device="cpu")
    return model.eval(), transform, open_clip.get_tokenizer(name)


def test_twin_export_round_trips_against_pytorch(twin: ImageTextEmbedder, lavfi_frames: dict[str, np.ndarray]) -> None:
    import torch

    model, transform, tokenizer = reference_model(twin_folder(twin.models_dir))
    frames = [photo("chelsea"), photo("astronaut"), *lavfi_frames.values()]
    texts = ["a cat on a sofa", "", "Ünïcode · 東京 & &amp; co", "a red car near the harbour gate " * 30]
    with torch.no_grad():
        images = torch.nn.functional.normalize(model.encode_image(torch.stack([transform(Image.fromarray(f)) for f in frames])), dim=-1)
        words = torch.nn.functional.normalize(model.encode_text(tokenizer(texts)), dim=-1)
    assert np.abs(twin.encode_images(frames) - images.numpy()).max() <= 1e-4
    assert np.abs(twin.encode_text(texts) - words.numpy()).max() <= 1e-4
    assert np.abs(twin.encode_query(texts[0]) - words.numpy()[0]).max() <= 1e-4


def test_vectors_are_unit_length_float32_of_the_model_dimension(twin: ImageTextEmbedder,
                                                                  lavfi_frames: dict[str, np.ndarray]) -> None:
    images = twin.encode_images(list(lavfi_frames.values()))
    texts = twin.encode_text(["a", "b c", ""])
    assert twin.dimension == 32  # the twin's embed_dim
    assert images.dtype == np.float32 and images.shape == (3, 32)
    assert texts.dtype == np.float32 and texts.shape == (3, 32)
    assert np.allclose(np.linalg.norm(images, axis=1), 1, atol=1e-6)
    assert np.allclose(np.linalg.norm(texts, axis=1), 1, atol=1e-6)
    assert twin.encode_images([]).shape == (0, 32) and twin.encode_text([]).shape == (0, 32)


def test_same_image_same_vector_and_different_scenes_differ(twin: ImageTextEmbedder,
                                                             lavfi_frames: dict[str, np.ndarray]) -> None:
    testsrc, bars = lavfi_frames["testsrc"], lavfi_frames["smptebars"]
    first = twin.encode_images([testsrc])[0]
    # the same frame again, alone and inside a batch of others (a batch split at batch_size too)
    batch = twin.encode_images([bars] * 9 + [testsrc.copy()])
    assert np.abs(twin.encode_images([testsrc])[0] - first).max() == 0
    assert np.abs(batch[9] - first).max() <= 1e-6
    assert float(first @ twin.encode_images([bars])[0]) < 0.99
    assert np.abs(first - batch[0]).max() > 1e-2


def test_the_twin_says_it_is_one(twin: ImageTextEmbedder) -> None:
    assert twin.is_twin
    assert "tiny random-weight test model" in twin.name
    assert read_manifest(twin.folder)["is_twin"] is True
    assert not ImageTextEmbedder("/nonexistent/model", twin.models_dir).is_twin


def test_manifest_records_the_source_and_checksums(twin: ImageTextEmbedder) -> None:
    manifest = read_manifest(twin.folder)
    assert manifest["source"] == source_identity("tiny", twin.models_dir)
    assert set(manifest["source"]["files"]) == {"open_clip_config.json", "open_clip_model.safetensors"}
    for graph in manifest["graphs"].values():
        path = twin.folder / graph["file"]
        assert graph["bytes"] == path.stat().st_size
        assert graph["sha256"] == file_sha256(path)
    assert manifest["check"]["passed"] is True
    assert manifest["check"]["image_max_difference"] <= 1e-4 and manifest["check"]["text_max_difference"] <= 1e-4
    assert twin.why_not_ready() is None


def test_a_changed_model_makes_the_export_stale(twin: ImageTextEmbedder) -> None:
    weights = twin_folder(twin.models_dir) / "open_clip_model.safetensors"
    stat = weights.stat()
    try:
        os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        assert "changed" in (twin.why_not_ready() or "")
    finally:
        os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert twin.why_not_ready() is None


def test_int8_quantizes_only_the_matrix_multiplications(twin: ImageTextEmbedder, twin_int8: ImageTextEmbedder,
                                                        lavfi_frames: dict[str, np.ndarray]) -> None:
    assert twin_int8.folder != twin.folder
    for role in ("image", "text"):
        quantized = {node.op_type for node in onnx.load(str(twin_int8.folder / f"{role}.onnx")).graph.node}
        floating = {node.op_type for node in onnx.load(str(twin.folder / f"{role}.onnx")).graph.node}
        assert quantized & {"MatMulInteger", "DynamicQuantizeLinear", "DynamicQuantizeMatMul"}
        assert not floating & {"MatMulInteger", "DynamicQuantizeLinear", "DynamicQuantizeMatMul"}
        assert "ConvInteger" not in quantized  # the patch embedding (a convolution) stays float
    frames = list(lavfi_frames.values())
    cosine = (twin_int8.encode_images(frames) * twin.encode_images(frames)).sum(axis=1)
    assert cosine.min() >= 0.99
    texts = ["a cat", "the harbour at night"]
    assert (twin_int8.encode_text(texts) * twin.encode_text(texts)).sum(axis=1).min() >= 0.99
    assert "int8" in twin_int8.name


def test_nothing_loads_until_first_use(tmp_path: Path) -> None:
    embedder = ImageTextEmbedder("tiny", tmp_path)
    assert not embedder.is_loaded
    assert not (tmp_path / "image-text").exists()
    assert embedder.why_not_ready() is not None


def test_a_process_that_only_embeds_never_imports_torch(twin: ImageTextEmbedder) -> None:
    code = (
        "import sys, numpy as np\n"
        "from model.vision.clip import ImageTextEmbedder\n"
        f"e = ImageTextEmbedder('tiny', {str(twin.models_dir)!r})\n"
        "v = e.encode_images([np.zeros((90, 160, 3), np.uint8)]); t = e.encode_text(['a dog'])\n"
        "assert v.shape == (1, 32) and t.shape == (1, 32)\n"
        "print('torch' in sys.modules, 'open_clip' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.stdout.split() == ["False", "False"]


def test_a_location_that_is_not_a_model_says_which_setting_to_change(tmp_path: Path) -> None:
    from model.sources import BackendUnavailable

    (tmp_path / "empty").mkdir()
    with pytest.raises(BackendUnavailable, match="VIDEOQA_VISUAL_MODEL"):
        ImageTextEmbedder(str(tmp_path / "empty"), tmp_path / "models").encode_text(["x"])


class _Recorder:
    """An ONNX Runtime session that records the shape of each input it runs."""

    def __init__(self, session) -> None:  # type: ignore[no-untyped-def]
        self.session, self.shapes = session, []

    def run(self, names, inputs):  # type: ignore[no-untyped-def]
        self.shapes.append(inputs["tokens"].shape)
        return self.session.run(names, inputs)


def test_the_text_tower_runs_trimmed_and_equals_the_77_token_run(twin: ImageTextEmbedder) -> None:
    runtime = twin.load()
    assert read_manifest(twin.folder)["graphs"]["text"]["sequence"] == "dynamic" and runtime.trim
    texts = ["a cat on a sofa", "", "people at a whiteboard in a meeting room", "Ünïcode · 東京"]
    full = runtime.tokens(texts)
    assert full.shape == (4, 77)
    padded = runtime.text.run(None, {"tokens": full})[0]
    trimmed = runtime.tokens(texts, trim=True)
    # the third text's length: <start_of_text>, 8 words, <end_of_text>; after it only padding
    assert trimmed.shape[1] == 10 and np.array_equal(trimmed, full[:, :10]) and not full[:, 10:].any()
    assert np.abs(runtime.text.run(None, {"tokens": trimmed})[0] - padded).max() <= 1e-5
    for row, text in enumerate(texts):  # each alone, at its own length
        alone = runtime.tokens([text], trim=True)
        assert np.abs(runtime.text.run(None, {"tokens": alone})[0][0] - padded[row]).max() <= 1e-5
    recorder = _Recorder(runtime.text)
    runtime.text = recorder
    try:
        vectors = twin.encode_text(texts)
    finally:
        runtime.text = recorder.session
    assert recorder.shapes == [(4, 10)]
    assert np.abs(vectors - padded).max() <= 1e-5
    assert read_manifest(twin.folder)["check"]["text_trimmed_max_difference"] <= 1e-4


def test_an_export_of_the_padded_format_is_made_again(twin: ImageTextEmbedder) -> None:
    path = twin.folder / "manifest.json"
    text = path.read_text(encoding="utf-8")
    try:
        path.write_text(text.replace('"format": 2', '"format": 1'), encoding="utf-8")
        assert read_manifest(twin.folder)["format"] == 1
        assert twin.why_not_ready() == f"the export in {twin.folder} has format 1, not 2"
    finally:
        path.write_text(text, encoding="utf-8")
    assert twin.why_not_ready() is None


def test_a_query_vector_is_kept_per_model_and_text(twin: ImageTextEmbedder, vision_models: Path) -> None:
    runtime = twin.load()
    recorder = _Recorder(runtime.text)
    runtime.text = recorder
    try:
        first = twin.encode_query("a harbour at dusk, cached")
        first[:] = 0  # a copy: the kept vector is not changed by its caller
        again = twin.encode_query("a harbour at dusk, cached")
        other = twin.encode_query("another text, cached")
    finally:
        runtime.text = recorder.session
    assert len(recorder.shapes) == 2  # the repeated text did not run the tower again
    assert np.abs(again - twin.encode_text(["a harbour at dusk, cached"])[0]).max() == 0
    assert float(again @ other) < 0.999
    fresh = ImageTextEmbedder("tiny", vision_models)  # another instance keeps its own vectors
    assert np.abs(fresh.encode_query("a harbour at dusk, cached") - again).max() <= 1e-6
