from __future__ import annotations

import pytest

from model.embeddings.factory import heavy_embedder
from model.embeddings.heavy import SentenceTransformerEmbedder
from video_qa.analyzers import embed_source
from video_qa.config import load_settings


@pytest.fixture(scope="session")
def location() -> str:
    """The bundled MiniLM's folder."""
    return embed_source(load_settings(embed_model="bundled")).location


@pytest.fixture(scope="session")
def heavy(location: str) -> SentenceTransformerEmbedder:
    """The model on sentence-transformers (PyTorch): the reference vectors, on the CPU; the same
    instance the factory falls back to for ``device="cpu"``."""
    embedder = heavy_embedder(location, "cpu")
    assert isinstance(embedder, SentenceTransformerEmbedder)
    return embedder
