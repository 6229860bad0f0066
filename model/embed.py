"""Text embeddings with sentence-transformers: batched, L2-normalised float32; and the export of
the model for the light query path (``model.query_embed``).

A search embeds one short query while the user waits. PyTorch spends ~11 ms on one core on a
dozen tokens of MiniLM, most of it per-operator overhead, and a new process needs ~10 s to import
and load it; the same graph exported to ONNX and run by ONNX Runtime on one thread takes ~5 ms and
gives the same vector (max difference ~1e-7), with no PyTorch in the process.

``export_query_model`` writes that export (graph, tokenizer files, manifest; see
``model.query_embed``) when the model is the usual transformer + mean pooling (+ normalisation),
after checking the light path's vectors against sentence-transformers' on probe sentences, and
puts it in place atomically (a temporary folder renamed). Any other model, or a failed export or
check, raises ``ExportRefused`` and stays on PyTorch (logged).

``TextEmbedder`` with an ``export_dir`` (the data folder's ``models/``) exports the first time it
loads the model in a process (a worker, an ingest, the server: where PyTorch is loaded anyway), and
answers ``encode_query`` from the export when there is a valid one, without loading PyTorch at all.
Without an ``export_dir`` it exports into a temporary folder once per process (kept in memory).
Its batches (``encode``) go through sentence-transformers; the pipeline's embedder is
``model.query_embed.OnnxTextEmbedder`` (batches through the export, no PyTorch in the ingest
process), which runs ``python -m model.embed LOCATION MODELS_DIR`` (``export_main``) to make the
export in a short-lived child process and falls back to this class where no export can be made.
"""

from __future__ import annotations

import copy
import datetime
import json
import logging
import os
import shutil
import tempfile
import threading
import uuid
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from model.query_embed import (FORMAT, GRAPH, MANIFEST, ONNX_TOLERANCE, TOKENIZER, TOKENIZER_FILES, ExportRefused,
                               QueryEmbedder, check_export, export_folder, file_sha256, load_query_embedder,
                               model_folder, source_identity, tokenizer_settings)

log = logging.getLogger(__name__)

PROBE = "The harbour pilot checks the cargo manifest near gate 4."
# the export's check: ordinary, empty, unicode, and a text long enough to be cut by truncation
PROBES = (PROBE, "", "Ünïcode · 東京 ?! émigré naïve café", "the harbour crane lifts a red container " * 60)

__all__ = ["ONNX_TOLERANCE", "PROBE", "PROBES", "ExportRefused", "TextEmbedder", "export_query_model"]


class TextEmbedder:
    def __init__(self, location: str, device: str = "auto", batch_size: int = 64,
                 export_dir: Path | None = None) -> None:
        self.location = location
        self.device_setting = device
        self.batch_size = batch_size
        self.export_dir = Path(export_dir) if export_dir is not None else None
        self.name = f"sentence-transformers {location}"
        self._model = None
        self._lock = threading.Lock()  # loading the model
        self._export_lock = threading.Lock()  # exporting
        self._choose_lock = threading.Lock()  # choosing the query path
        self._query: QueryEmbedder | None = None
        self._query_path: str | None = None  # "onnxruntime (<folder>)" or "pytorch: why"
        self._exported: set[Path] = set()  # models folders this process has exported to (or tried)

    def _load(self):  # type: ignore[no-untyped-def]
        with self._lock:
            if self._model is None:
                import torch
                from sentence_transformers import SentenceTransformer

                device = "cuda" if self.device_setting != "cpu" and torch.cuda.is_available() else "cpu"
                self._model = SentenceTransformer(self.location, device=device)
            model = self._model
        if self.export_dir is not None and self.export_dir not in self._exported:
            self._persist(model, self.export_dir)
        return model

    def _persist(self, model: Any, models_dir: Path) -> None:
        """Export into ``models_dir`` unless a valid export is there (once per process; logged)."""
        with self._export_lock:
            if models_dir in self._exported:
                return
            self._exported.add(models_dir)
            why = check_export(export_folder(models_dir, self.location), self.location)
            if why is None:
                return
            log.info("text embeddings: exporting the query model (%s)", why)
            try:
                folder = export_query_model(model, self.location, models_dir)
            except (ExportRefused, OSError) as error:  # OSError: e.g. a read-only data folder
                log.warning("text embeddings: single queries stay on PyTorch: %s", error)
                return
            log.info("text embeddings: query model exported to %s", folder)

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
        """One text's vector (dimension,), equal to ``encode([text])[0]`` within ``ONNX_TOLERANCE``,
        through ONNX Runtime where there is an export (see module doc)."""
        light = self.query_embedder()
        return light.encode_query(text) if light is not None else self.encode([text])[0]

    def export_query(self, models_dir: Path) -> QueryEmbedder | None:
        """The light embedder from ``models_dir``, exported there first when it holds no valid
        export (this loads the model); None when the model cannot be exported (logged)."""
        models_dir = Path(models_dir)
        light, _ = load_query_embedder(models_dir, self.location)
        if light is None:
            self._persist(self._load(), models_dir)
            light, _ = load_query_embedder(models_dir, self.location)
        return light

    @property
    def query_path(self) -> str:
        self.query_embedder()
        return self._query_path or ""

    def query_embedder(self) -> QueryEmbedder | None:
        """The light embedder single queries go through, or None: they go through PyTorch."""
        if self._query_path is None:
            with self._choose_lock:  # concurrent first queries: one choice, one export
                if self._query_path is None:
                    self._query, self._query_path = self._choose_query_path()
                    log.info("text embeddings: single queries through %s", self._query_path)
        return self._query

    def _choose_query_path(self) -> tuple[QueryEmbedder | None, str]:
        if self.export_dir is not None:
            light, where = load_query_embedder(self.export_dir, self.location)
            if light is None:
                self._load()  # exports (see _persist)
                light, where = load_query_embedder(self.export_dir, self.location)
            return (light, f"onnxruntime ({where})") if light is not None else (None, f"pytorch: {where}")
        with tempfile.TemporaryDirectory(prefix="videoqa-query-") as scratch:  # no models folder: in memory
            try:
                folder = export_query_model(self._load(), self.location, Path(scratch))
            except (ExportRefused, OSError) as error:
                return None, f"pytorch: {error}"
            return QueryEmbedder(folder), "onnxruntime (in memory)"


def _check_modules(model: Any) -> tuple[Any, Any]:
    """(the Transformer module, its torch model), or ``ExportRefused``."""
    modules = list(model)
    names = [type(m).__name__ for m in modules]
    if names not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        raise ExportRefused(f"modules {names} are not transformer + pooling")
    pooling = modules[1]
    mode = getattr(pooling, "pooling_mode", None) or (
        "mean" if getattr(pooling, "pooling_mode_mean_tokens", False) else None)
    if mode != "mean":
        raise ExportRefused(f"pooling {mode!r} is not mean")
    backbone = getattr(modules[0], "auto_model", None) or getattr(modules[0], "model", None)
    if backbone is None:
        raise ExportRefused("the transformer is not a torch module")
    return modules[0], backbone


def _write_graph(backbone: Any, features: dict[str, Any], path: Path) -> None:
    """The backbone + mean pooling + L2 normalisation as ONNX at ``path``, run on the CPU.
    Normalised whether or not the model has a Normalize module: ``TextEmbedder.encode`` always
    normalises, and the light path must give its vectors."""
    import torch

    # a copy, on the CPU: the export traces it while other threads may use the model (where it is)
    backbone = copy.deepcopy(backbone).cpu()

    class MeanPooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.backbone = backbone

        def forward(self, input_ids, attention_mask):  # type: ignore[no-untyped-def]
            hidden = self.backbone(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=1)

    inputs = (features["input_ids"].cpu(), features["attention_mask"].cpu())
    try:
        with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's notes on operators it maps
            torch.onnx.export(
                MeanPooled().eval(), inputs, str(path), input_names=["input_ids", "attention_mask"],
                output_names=["vector"], opset_version=17, dynamo=False,
                dynamic_axes={"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}},
            )
    except (RuntimeError, ValueError, torch.onnx.errors.OnnxExporterError) as error:
        raise ExportRefused(f"the ONNX export failed ({type(error).__name__}: {str(error)[:200]})") from error


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for package in ("torch", "transformers", "sentence-transformers", "onnxruntime", "tokenizers"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue
    return found


def _write_json(path: Path, value: dict[str, Any]) -> None:
    path.write_text(json.dumps(value, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def export_query_model(model: Any, location: str, models_dir: Path) -> Path:
    """Export ``model`` (a loaded SentenceTransformer, from ``location``) for the light query path
    into its export folder under ``models_dir``; returns the folder. ``ExportRefused`` when the model
    is not transformer + mean pooling, lacks a local folder with a tokenizer, the export fails, its
    tokenisation settings differ from the loaded model's, or its vectors differ from
    sentence-transformers' on ``PROBES`` by more than ``ONNX_TOLERANCE``."""
    transformer, backbone = _check_modules(model)
    source = model_folder(location)
    identity = source_identity(location)
    if source is None or identity is None:
        raise ExportRefused(f"{location} has no local folder to read its tokenizer from")
    target = export_folder(models_dir, location)
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = target.parent / f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    scratch.mkdir()
    try:
        _fill(scratch, model, transformer, backbone, location, source, identity)
        _install(scratch, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def _fill(folder: Path, model: Any, transformer: Any, backbone: Any, location: str, source: Path,
          identity: dict[str, Any]) -> None:
    """Write the graph, the tokenizer files and the manifest into ``folder``, then check them."""
    for name in TOKENIZER_FILES:
        if (source / name).is_file():
            shutil.copyfile(source / name, folder / name)
    if not (folder / TOKENIZER).is_file():  # an older model folder: the fast tokenizer's own file
        backend = getattr(getattr(transformer, "tokenizer", None), "backend_tokenizer", None)
        if backend is None:
            raise ExportRefused(f"{source} has no {TOKENIZER} and the tokenizer is not a fast one")
        backend.save(str(folder / TOKENIZER))
    settings = tokenizer_settings(folder)
    loaded = (int(model.max_seq_length), bool(getattr(transformer, "do_lower_case", False)))
    if (settings.max_seq_length, settings.do_lower_case) != loaded:
        raise ExportRefused(f"the model folder's files say max_seq_length {settings.max_seq_length}, lower case "
                            f"{settings.do_lower_case}; the loaded model uses {loaded[0]}, {loaded[1]}")
    prepare = getattr(model, "preprocess", None) or model.tokenize
    _write_graph(backbone, prepare([PROBE]), folder / GRAPH)
    get_dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "location": location,
        "source": identity,
        "graph": {"file": GRAPH, "bytes": (folder / GRAPH).stat().st_size, "sha256": file_sha256(folder / GRAPH),
                  "inputs": ["input_ids", "attention_mask"], "opset": 17, "pooling": "mean", "normalize": True},
        "dimension": int(get_dimension()),
        "tokenizer": {"max_seq_length": settings.max_seq_length, "do_lower_case": settings.do_lower_case,
                      "truncation_side": settings.truncation_side},
        "exported": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "versions": _versions(),
        "check": {"passed": False},
    }
    _write_json(folder / MANIFEST, manifest)
    try:
        light = QueryEmbedder(folder)
        exported = np.stack([light.encode_query(p) for p in PROBES])
    except Exception as error:  # noqa: BLE001 - onnxruntime/tokenizers raise bare Exception subclasses
        raise ExportRefused(f"the exported model does not load ({type(error).__name__}: {str(error)[:200]})") from error
    reference = model.encode(list(PROBES), normalize_embeddings=True, convert_to_numpy=True,
                             show_progress_bar=False)
    difference = float(np.abs(exported - reference).max())
    if difference > ONNX_TOLERANCE:
        raise ExportRefused(f"the exported model's vectors differ from PyTorch's by {difference:.2g}")
    manifest["check"] = {"passed": True, "probes": len(PROBES), "max_difference": difference,
                         "tolerance": ONNX_TOLERANCE}
    _write_json(folder / MANIFEST, manifest)


def _install(scratch: Path, target: Path) -> None:
    """Rename ``scratch`` to ``target`` (an old export there is moved aside first, then removed).
    Another process that installed its own export meanwhile wins: ours is dropped."""
    old = None
    if target.exists():
        old = target.parent / f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.old"
        try:
            target.rename(old)
        except FileNotFoundError:  # another process moved it meanwhile
            old = None
    try:
        scratch.rename(target)
    except OSError as error:  # ENOTEMPTY / EEXIST: another process's export is in place
        log.info("text embeddings: %s was exported by another process meanwhile (%s)", target, error.strerror)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def export_main(argv: list[str] | None = None) -> int:
    """``python -m model.embed LOCATION MODELS_DIR``: load the model with sentence-transformers,
    export it into MODELS_DIR and exit (``model.query_embed.export_in_subprocess`` runs this, so
    that the process that asked never imports PyTorch). Exit 0 when exported, 3 when refused."""
    import sys
    import time

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m model.embed LOCATION MODELS_DIR", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    location, models_dir = args[0], Path(args[1])
    started = time.monotonic()
    model = TextEmbedder(location, device="cpu")._load()
    loaded = time.monotonic()
    try:
        folder = export_query_model(model, location, models_dir)
    except (ExportRefused, OSError) as error:
        print(f"export refused: {error}", file=sys.stderr)
        return 3
    log.info("text embeddings: exported %s to %s (model load %.1f s, export and check %.1f s)", location, folder,
             loaded - started, time.monotonic() - loaded)
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(export_main())
