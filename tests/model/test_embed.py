from __future__ import annotations

import numpy as np

from video_qa.analyzers import get_embedder
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
    embedder = get_embedder(load_settings())  # no models folder given: exported once, kept in memory
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
