"""Text embeddings with sentence-transformers: batched, L2-normalised float32."""

from __future__ import annotations

import logging
import threading

import numpy as np


log = logging.getLogger(__name__)


class TextEmbedder:
    def __init__(self, location: str, device: str = "auto", batch_size: int = 64) -> None:
        self.location = location
        self.device_setting = device
        self.batch_size = batch_size
        self.name = f"sentence-transformers {location}"
        self._model = None
        self._lock = threading.Lock()

    def _load(self):  # type: ignore[no-untyped-def]
        with self._lock:
            if self._model is None:
                import torch
                from sentence_transformers import SentenceTransformer

                device = "cuda" if self.device_setting != "cpu" and torch.cuda.is_available() else "cpu"
                self._model = SentenceTransformer(self.location, device=device)
            return self._model

    @property
    def dimension(self) -> int:
        model = self._load()
        get = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(get())

    def encode(self, texts: list[str]) -> np.ndarray:
        """(len(texts), dimension) float32, each row of unit length."""
        model = self._load()
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = model.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)
