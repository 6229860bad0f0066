"""The one text embedder: batches and single queries through the export on ONNX Runtime, with
sentence-transformers' vectors; sentence-transformers in process where no export can be made."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from model.embeddings import store
from model.embeddings.export import main as export_main
from model.embeddings.factory import Embedder
from model.embeddings.heavy import SentenceTransformerEmbedder
from model.embeddings.onnx import BATCH
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


def test_a_query_through_onnx_runtime_equals_the_pytorch_vector(heavy: SentenceTransformerEmbedder) -> None:
    embedder = get_embedder(load_settings())
    for query in QUERIES:  # the last but one is cut at the model's 256 tokens on both paths
        assert np.abs(embedder.encode_query(query) - heavy.encode([query])[0]).max() < 1e-5
    assert embedder.path.startswith("onnxruntime (")


def test_a_failed_export_is_refused_and_the_embedder_stays_on_pytorch(location: str, tmp_path: Path, monkeypatch,
                                                                      capsys, heavy) -> None:  # type: ignore[no-untyped-def]
    import torch

    def refuse(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise torch.onnx.errors.OnnxExporterError("no exporter here")

    monkeypatch.setattr(torch.onnx, "export", refuse)
    assert export_main([location, str(tmp_path / "models")]) == 3  # what the export's child runs
    assert "export refused: the ONNX export failed (OnnxExporterError" in capsys.readouterr().err

    def failing(location, models_dir, timeout_s=0.0):  # type: ignore[no-untyped-def]
        return export_main([location, str(models_dir)]) and "the export process failed (exit 3)"

    monkeypatch.setattr(store, "export_in_subprocess", failing)
    monkeypatch.setattr(store, "_known_exports", {})
    embedder = Embedder(location, tmp_path / "models", device="cpu")
    for query in QUERIES[:2]:
        assert np.array_equal(embedder.encode_query(query), heavy.encode([query])[0])
    assert embedder.path == "pytorch: the export process failed (exit 3)"


LONG = "the harbour crane lifts a red container onto the waiting truck " * 40  # cut at 256 tokens
MIXED = ["quarterly budget", "", "Ünïcode · 東京 ?! émigré naïve café 😀", LONG, "x", "a\tb\nc  ",
         "WHEN was the Marketing Budget APPROVED?"] + [f"slide {i}: " + "revenue grew " * (i % 9) for i in range(70)]


def test_the_embedder_batches_through_onnx_runtime_with_the_heavy_vectors(tmp_path: Path, heavy) -> None:  # type: ignore[no-untyped-def]
    settings = load_settings(data_dir=tmp_path / "data", embed_model="bundled")
    light = get_embedder(settings)
    assert isinstance(light, Embedder) and light.path == ""  # nothing loaded yet
    assert len(MIXED) > 2 * BATCH  # several batches, of different padded lengths
    vectors = light.encode(MIXED)
    assert light.path.startswith("onnxruntime (")
    reference = heavy.encode(MIXED)
    assert vectors.dtype == np.float32 and vectors.shape == (len(MIXED), 384)
    assert float(np.abs(vectors - reference).max()) < 1e-4
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert float(np.abs(light.encode(["quarterly budget"])[0] - reference[0]).max()) < 1e-4
    assert float(np.abs(light.encode_query(LONG) - reference[3]).max()) < 1e-4
    assert light.encode([]).shape == (0, 384) and light.dimension == 384
    assert "torch" in sys.modules  # (the heavy reference loaded it; the ONNX path's own test is a process)


def test_without_a_writable_models_folder_the_embedder_runs_on_pytorch(tmp_path: Path, location: str, heavy,
                                                                        caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    blocker = tmp_path / "blocked-data"  # not the fixture's data folder, which exists
    blocker.write_text("a file where the data folder would be")  # models/ cannot be created under it
    embedder = Embedder(location, blocker / "models", device="cpu")
    vectors = embedder.encode(MIXED[:5])
    assert embedder.path.startswith("pytorch: ") and "cannot be written" in embedder.path
    assert "embedding with sentence-transformers (PyTorch)" in caplog.text
    assert embedder.exported() is None
    assert np.array_equal(vectors, heavy.encode(MIXED[:5]))


def test_a_failed_export_in_the_child_leaves_the_embedder_on_pytorch(tmp_path: Path, location: str, heavy, monkeypatch,
                                                                     caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    calls = []

    def failing(location, models_dir, timeout_s=0.0):  # type: ignore[no-untyped-def]
        calls.append(models_dir)
        return "the export process failed (exit 3: export refused: modules ['Transformer', 'Dense'])"

    monkeypatch.setattr(store, "export_in_subprocess", failing)
    monkeypatch.setattr(store, "_known_exports", {})  # nothing to link from: the child must run
    models = tmp_path / "data" / "models"
    embedder = Embedder(location, models, device="cpu")
    vectors = embedder.encode(MIXED[:4])
    assert calls == [models] and embedder.path.startswith("pytorch: the export process failed (exit 3")
    assert "embedding with sentence-transformers (PyTorch)" in caplog.text
    assert np.array_equal(vectors, heavy.encode(MIXED[:4]))
