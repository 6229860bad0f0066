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
