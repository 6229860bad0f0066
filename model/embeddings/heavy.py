"""The text-embedding model on PyTorch, through sentence-transformers.

``SentenceTransformerEmbedder`` is what the export reads the model from (``model`` is the loaded
``SentenceTransformer``) and what embeds where no export can be made. Batched, L2-normalised
float32; ``encode_query(text)`` is ``encode([text])[0]``. PyTorch is imported when the model
loads, on first use; on ``threads`` intra-op threads (None: PyTorch's own default).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from model.loading import InferenceModel

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


class SentenceTransformerEmbedder(InferenceModel["SentenceTransformer"]):
    """``model.protocols.TextEmbedder`` on sentence-transformers (see module doc)."""

    def __init__(self, location: str, device: str = "auto", batch_size: int = 64, threads: int | None = None) -> None:
        super().__init__(threads)
        self.location = location
        self.device_setting = device
        self.batch_size = batch_size
        self._name = f"sentence-transformers {location}"

    def _load(self) -> SentenceTransformer:
        import torch
        from sentence_transformers import SentenceTransformer

        if self.threads is not None:
            torch.set_num_threads(self.threads)
        device = "cuda" if self.device_setting != "cpu" and torch.cuda.is_available() else "cpu"
        return SentenceTransformer(self.location, device=device)

    @property
    def model(self) -> SentenceTransformer:
        return self.load()

    @property
    def name(self) -> str:
        return self._name

    @property
    def dimension(self) -> int:
        model = self.load()
        get = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(get())

    def encode(self, texts: list[str]) -> np.ndarray:
        """(len(texts), dimension) float32, each row of unit length."""
        model = self.load()
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = model.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        """One text's vector (dimension,)."""
        return self.encode([text])[0]
