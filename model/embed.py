"""Text embeddings with sentence-transformers: batched, L2-normalised float32.

A search embeds one short query while the user waits. PyTorch spends ~11 ms on one core on a
dozen tokens of MiniLM, most of it per-operator overhead; the same graph exported to ONNX and run
by ONNX Runtime on one thread takes ~5 ms and gives the same vector (max difference ~1e-7). So
``encode_query`` exports the model once per process (in memory, no file) when it is the usual
transformer + mean pooling (+ normalisation) and checks the exported graph against PyTorch on a
probe sentence; any other model, or a failed export or check, stays on PyTorch (logged).
Batches (``encode``, the ingest path) always go through sentence-transformers.
"""

from __future__ import annotations

import logging
import threading
import warnings

import numpy as np


log = logging.getLogger(__name__)


PROBE = "The harbour pilot checks the cargo manifest near gate 4."
ONNX_TOLERANCE = 1e-4


class TextEmbedder:
    def __init__(self, location: str, device: str = "auto", batch_size: int = 64) -> None:
        self.location = location
        self.device_setting = device
        self.batch_size = batch_size
        self.name = f"sentence-transformers {location}"
        self._model = None
        self._lock = threading.Lock()
        self._query_session = None  # onnxruntime.InferenceSession for single queries
        self._query_path: str | None = None  # "onnxruntime" or "pytorch: why"

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

    def encode_query(self, text: str) -> np.ndarray:
        """One text's vector (dimension,), equal to ``encode([text])[0]``, via ONNX Runtime where
        the export worked (see module doc)."""
        session = self._query_runtime()
        if session is None:
            return self.encode([text])[0]
        model = self._load()
        features = _tokenize(model, [text])
        feeds = {i.name: features[i.name].numpy() for i in session.get_inputs()}
        return np.asarray(session.run(None, feeds)[0][0], dtype=np.float32)

    @property
    def query_path(self) -> str:
        self._query_runtime()
        return self._query_path or ""

    def _query_runtime(self):  # type: ignore[no-untyped-def]
        if self._query_path is None:
            model = self._load()
            with self._lock:
                if self._query_path is None:
                    self._query_session, self._query_path = _export(model)
                    log.info("text embeddings: single queries through %s", self._query_path)
        return self._query_session


def _tokenize(model, texts: list[str]):  # type: ignore[no-untyped-def]
    prepare = getattr(model, "preprocess", None) or model.tokenize
    return prepare(texts)


def _export(model):  # type: ignore[no-untyped-def]
    """(onnxruntime session, "onnxruntime") or (None, "pytorch: <why>")."""
    import io

    import torch

    modules = list(model)
    names = [type(m).__name__ for m in modules]
    if names not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        return None, f"pytorch: modules {names} are not transformer + pooling"
    pooling = modules[1]
    mode = getattr(pooling, "pooling_mode", None) or (
        "mean" if getattr(pooling, "pooling_mode_mean_tokens", False) else None)
    if mode != "mean":
        return None, f"pytorch: pooling {mode!r} is not mean"
    backbone = getattr(modules[0], "auto_model", None) or getattr(modules[0], "model", None)
    if backbone is None or next(backbone.parameters()).device.type != "cpu":
        return None, "pytorch: the transformer is not a CPU torch module"
    normalize = len(names) == 3

    class MeanPooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.backbone = backbone

        def forward(self, input_ids, attention_mask):  # type: ignore[no-untyped-def]
            hidden = self.backbone(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=1) if normalize else pooled

    features = _tokenize(model, [PROBE])
    inputs = (features["input_ids"], features["attention_mask"])
    buffer = io.BytesIO()
    try:
        import onnxruntime

        with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's notes on operators it maps
            torch.onnx.export(
                MeanPooled().eval(), inputs, buffer, input_names=["input_ids", "attention_mask"],
                output_names=["vector"], opset_version=17, dynamo=False,
                dynamic_axes={"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}},
            )
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # a query is small; the other core serves the database
        options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(buffer.getvalue(), options, providers=["CPUExecutionProvider"])
    except (ImportError, RuntimeError, ValueError, torch.onnx.errors.OnnxExporterError) as error:
        return None, f"pytorch: the ONNX export failed ({type(error).__name__}: {str(error)[:200]})"
    exported = session.run(None, {"input_ids": inputs[0].numpy(), "attention_mask": inputs[1].numpy()})[0][0]
    reference = model.encode([PROBE], normalize_embeddings=normalize, convert_to_numpy=True, show_progress_bar=False)[0]
    difference = float(np.abs(exported - reference).max())
    if difference > ONNX_TOLERANCE:
        return None, f"pytorch: the exported graph differs from PyTorch by {difference:.2g}"
    return session, "onnxruntime"
