from __future__ import annotations

import numpy as np

from video_qa.analyzers import get_embedder, get_text_embedder
from video_qa.config import load_settings


def test_paraphrase_ranks_above_unrelated() -> None:
    embedder = get_embedder(load_settings())
    query, paraphrase, unrelated = embedder.encode(
        ["the quarterly budget is approved", "they signed off on the budget for the quarter", "a dog runs on the beach"]
    )
    assert float(query @ paraphrase) > float(query @ unrelated) + 0.2


def test_batched_normalised_float32() -> None:
    embedder = get_embedder(load_settings())
    texts = [f"sentence number {i}" for i in range(150)]
    vectors = embedder.encode(texts)
    assert vectors.dtype == np.float32 and vectors.shape == (150, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.encode([]).shape == (0, 384)


QUERIES = ["quarterly budget", "", "x", "the harbour crane lifts a red container " * 40, "Ünïcode · 東京 ?!"]


def test_a_query_through_onnx_runtime_equals_the_pytorch_vector() -> None:
    embedder = get_text_embedder(load_settings())  # no models folder given: exported once, kept in memory
    assert embedder.query_path == "onnxruntime (in memory)"
    for query in QUERIES:  # the last but one is cut at the model's 256 tokens on both paths
        assert np.abs(embedder.encode_query(query) - embedder.encode([query])[0]).max() < 1e-5


def test_a_failed_export_stays_on_pytorch(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import torch

    from model.embed import TextEmbedder
    from video_qa.analyzers import embed_source

    def refuse(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise torch.onnx.errors.OnnxExporterError("no exporter here")

    monkeypatch.setattr(torch.onnx, "export", refuse)
    embedder = TextEmbedder(embed_source(load_settings()).location, device="cpu")
    assert embedder.query_path.startswith("pytorch: the ONNX export failed (OnnxExporterError")
    for query in QUERIES[:2]:
        assert np.array_equal(embedder.encode_query(query), embedder.encode([query])[0])


LONG = "the harbour crane lifts a red container onto the waiting truck " * 40  # cut at 256 tokens
MIXED = ["quarterly budget", "", "Ünïcode · 東京 ?! émigré naïve café 😀", LONG, "x", "a\tb\nc  ",
         "WHEN was the Marketing Budget APPROVED?"] + [f"slide {i}: " + "revenue grew " * (i % 9) for i in range(70)]


def test_the_pipelines_embedder_batches_through_onnx_runtime_with_the_heavy_vectors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import sys

    from model.query_embed import BATCH, OnnxTextEmbedder

    settings = load_settings(data_dir=tmp_path / "data", embed_model="bundled")
    light = get_embedder(settings)
    assert isinstance(light, OnnxTextEmbedder) and light.path == ""  # nothing loaded yet
    assert len(MIXED) > 2 * BATCH  # several batches, of different padded lengths
    vectors = light.encode(MIXED)
    assert light.path.startswith("onnxruntime (")
    heavy = get_text_embedder(settings).encode(MIXED)
    assert vectors.dtype == np.float32 and vectors.shape == (len(MIXED), 384)
    assert float(np.abs(vectors - heavy).max()) < 1e-4
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert float(np.abs(light.encode(["quarterly budget"])[0] - heavy[0]).max()) < 1e-4
    assert float(np.abs(light.encode_query(LONG) - heavy[3]).max()) < 1e-4
    assert light.encode([]).shape == (0, 384) and light.dimension == 384
    assert "torch" in sys.modules  # (the heavy reference above loaded it; the light path's own test is a process)


def test_without_a_writable_models_folder_the_pipeline_embeds_with_pytorch(tmp_path, caplog) -> None:  # type: ignore[no-untyped-def]
    from model.query_embed import OnnxTextEmbedder

    blocker = tmp_path / "data"
    blocker.write_text("a file where the data folder would be")  # models/ cannot be created under it
    location = get_text_embedder(load_settings(embed_model="bundled")).location
    light = OnnxTextEmbedder(location, blocker / "models",
                             fallback=lambda: get_text_embedder(load_settings(embed_model="bundled")))
    vectors = light.encode(MIXED[:5])
    assert light.path.startswith("pytorch: ") and "cannot be written" in light.path
    assert "embedding with sentence-transformers (PyTorch)" in caplog.text
    assert np.array_equal(vectors, get_text_embedder(load_settings(embed_model="bundled")).encode(MIXED[:5]))


def test_a_failed_export_in_the_child_leaves_the_pipeline_on_pytorch(tmp_path, monkeypatch, caplog) -> None:  # type: ignore[no-untyped-def]
    import model.query_embed as light_module

    calls = []

    def failing(location, models_dir, timeout_s=0.0):  # type: ignore[no-untyped-def]
        calls.append(models_dir)
        return "the export process failed (exit 3: export refused: modules ['Transformer', 'Dense'])"

    monkeypatch.setattr(light_module, "export_in_subprocess", failing)
    monkeypatch.setattr(light_module, "_known_exports", {})  # nothing to link from: the child must run
    settings = load_settings(data_dir=tmp_path / "data", embed_model="bundled")
    light = light_module.OnnxTextEmbedder(get_text_embedder(settings).location, settings.models_dir,
                                          fallback=lambda: get_text_embedder(settings))
    vectors = light.encode(MIXED[:4])
    assert calls == [settings.models_dir] and light.path.startswith("pytorch: the export process failed (exit 3")
    assert "embedding with sentence-transformers (PyTorch)" in caplog.text
    assert np.array_equal(vectors, get_text_embedder(settings).encode(MIXED[:4]))
