"""The one text embedder: ``text_embedder(location, models_dir, threads, device)``.

Ingest, search and ask all embed through the ``Embedder`` this returns (one per process per
arguments; ``model.protocols.TextEmbedder``). Nothing loads until its first call; then it takes
the data folder's ONNX export of the model (``model.embeddings.store.ensure_export``: made by a
child process when missing) and embeds with ONNX Runtime on ``threads`` threads
(``model.embeddings.onnx``), so the process never imports PyTorch. Where no export can be made it
embeds with sentence-transformers in this process (``model.embeddings.heavy``, logged as a
warning): slower and larger, the same vectors within ``ONNX_TOLERANCE``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from model.embeddings.onnx import BATCH, OnnxEmbedder
from model.embeddings.store import ensure_export, remember
from model.loading import InferenceModel, per_process
from model.protocols import TextEmbedder

log = logging.getLogger(__name__)


@per_process
def heavy_embedder(location: str, device: str) -> TextEmbedder:
    """The model on sentence-transformers (PyTorch, imported on first use), one per process."""
    from model.embeddings.heavy import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(location, device)


class Embedder(InferenceModel[TextEmbedder]):
    """The ONNX export of the model at ``location`` from ``models_dir``, or the model on
    sentence-transformers where there can be none (see module doc); ``path`` says which once
    chosen: ``"onnxruntime (<folder>)"`` or ``"pytorch: <why>"``."""

    def __init__(self, location: str, models_dir: Path, threads: int = 1, device: str = "auto",
                 batch_size: int = BATCH) -> None:
        super().__init__(threads)
        self.location = location
        self.models_dir = Path(models_dir)
        self.device_setting = device
        self.batch_size = batch_size
        self.path = ""

    def _load(self) -> TextEmbedder:
        started = time.monotonic()
        folder, why = ensure_export(self.models_dir, self.location)
        if folder is not None:
            try:
                runner = OnnxEmbedder(folder, self.threads or 1, self.batch_size)
                runner.load()
            except Exception as error:  # noqa: BLE001 - onnxruntime and tokenizers raise bare Exception
                # subclasses (InvalidProtobuf, a JSON error): the reason to fall back, logged below
                why = f"{folder} could not be loaded ({type(error).__name__}: {str(error)[:200]})"
            else:
                remember(self.location, folder)
                self.path = f"onnxruntime ({folder})"
                log.info("text embeddings: ONNX Runtime, %d thread(s), from %s (ready in %.1f s)",
                         runner.threads, folder, time.monotonic() - started)
                return runner
        self.path = f"pytorch: {why}"
        log.warning("text embeddings: no ONNX export (%s): embedding with sentence-transformers (PyTorch) "
                    "in this process", why)
        return heavy_embedder(self.location, self.device_setting)

    @property
    def name(self) -> str:
        return self.load().name

    @property
    def dimension(self) -> int:
        return self.load().dimension

    def encode(self, texts: list[str]) -> np.ndarray:
        """(len(texts), dimension) float32, each row of unit length."""
        return self.load().encode(texts)

    def encode_query(self, text: str) -> np.ndarray:
        """One text's vector (dimension,) float32."""
        return self.load().encode_query(text)

    def exported(self) -> OnnxEmbedder | None:
        """The ONNX runner (the export made first where missing) with its graph's SHA-256 checked
        (``ValueError`` when it differs); None where this embedder runs on sentence-transformers."""
        backend = self.load()
        if not isinstance(backend, OnnxEmbedder):
            return None
        backend.verify()
        return backend


@per_process
def text_embedder(location: str, models_dir: Path, threads: int = 1, device: str = "auto") -> Embedder:
    """The text embedder of the model at ``location`` with its export in ``models_dir``, one per
    process per arguments (see module doc)."""
    return Embedder(location, Path(models_dir), threads, device)
