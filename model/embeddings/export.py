"""The ONNX export of a text-embedding model, made in a child process of its own.

``python -m model.embeddings.export LOCATION MODELS_DIR`` (``main``) loads the model with
sentence-transformers, writes its export (see ``model.embeddings.folder``) and exits, so the
process that needs the export never imports PyTorch; ``model.embeddings.store`` runs it.

``export_model`` accepts the usual transformer + mean pooling (+ normalisation) model only. It
writes the graph, the tokenizer files and the manifest into a temporary folder beside the target,
checks the export's vectors against sentence-transformers' on ``PROBES`` (ordinary, empty,
unicode, and a text long enough to be cut by truncation), records the check in the manifest and
renames the folder into place, so a reader sees a complete export or none. Any other model, or a
failed export or check, raises ``ExportRefused``.
"""

from __future__ import annotations

import copy
import datetime
import json
import logging
import os
import shutil
import sys
import uuid
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from model.embeddings.folder import (FORMAT, GRAPH, MANIFEST, ONNX_TOLERANCE, TOKENIZER, TOKENIZER_FILES,
                                     ExportRefused, export_folder, file_sha256, source_identity,
                                     tokenizer_settings)
from model.embeddings.heavy import SentenceTransformerEmbedder
from model.embeddings.onnx import OnnxEmbedder
from model.sources import local_folder

log = logging.getLogger(__name__)

PROBE = "The harbour pilot checks the cargo manifest near gate 4."
PROBES = (PROBE, "", "Ünïcode · 東京 ?! émigré naïve café", "the harbour crane lifts a red container " * 60)


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
    Normalised whether or not the model has a Normalize module: the heavy embedder always
    normalises, and the export must give its vectors."""
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


def export_model(model: Any, location: str, models_dir: Path) -> Path:
    """Export ``model`` (a loaded SentenceTransformer, from ``location``) into its export folder
    under ``models_dir``; returns the folder. ``ExportRefused`` when the model
    is not transformer + mean pooling, lacks a local folder with a tokenizer, the export fails, its
    tokenisation settings differ from the loaded model's, or its vectors differ from
    sentence-transformers' on ``PROBES`` by more than ``ONNX_TOLERANCE``."""
    transformer, backbone = _check_modules(model)
    source = local_folder(location)
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
        runner = OnnxEmbedder(folder)
        exported = np.stack([runner.encode_query(p) for p in PROBES])
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


def main(argv: list[str] | None = None) -> int:
    """``python -m model.embeddings.export LOCATION MODELS_DIR``: load the model with
    sentence-transformers, export it into MODELS_DIR and exit. Exit 0 when exported, 3 when
    refused (why on stderr), 2 for a wrong command line."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m model.embeddings.export LOCATION MODELS_DIR", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    location, models_dir = args[0], Path(args[1])
    model = SentenceTransformerEmbedder(location, device="cpu").model
    try:
        folder = export_model(model, location, models_dir)
    except (ExportRefused, OSError) as error:
        print(f"export refused: {error}", file=sys.stderr)
        return 3
    log.info("text embeddings: exported %s to %s", location, folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
