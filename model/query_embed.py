"""The light query path: one search query's embedding with ONNX Runtime and ``tokenizers`` only.

A search embeds one short query while the user waits; loading PyTorch, transformers and
sentence-transformers for that takes ~10 s in a new process (the cold ``videoqa search``). So the
heavy ``TextEmbedder`` (``model.embed``, wherever PyTorch is loaded anyway) exports its model once,
persisted, into an *export folder* under the data folder's ``models/`` (``export_folder``):

- ``model.onnx``: transformer + mean pooling (+ normalisation), inputs ``input_ids`` and
  ``attention_mask``, output the sentence vector;
- the model folder's tokenizer files, copied as they are (``tokenizer.json``,
  ``tokenizer_config.json``, ``sentence_bert_config.json``, ``config.json``, ...);
- ``manifest.json``: the format version, the source model's identity (its folder and the size and
  modification time of each of its files), the graph's size and SHA-256, and the result of the
  check made before the folder was put in place (the vectors of probe sentences, a long one cut
  by truncation among them, against sentence-transformers'; ``ONNX_TOLERANCE``).

The folder is written under a temporary name and renamed into place, so a reader sees a complete
export or none. ``load_query_embedder`` accepts an export only when its format is this one, its
source identity equals the model's now (a changed or reinstalled model is exported again), its
graph has the recorded size and its check passed; else it says why and the caller falls back to
the heavy path.

Tokenisation matches sentence-transformers' ``Transformer`` module, read from the copied files:
``tokenizer.json`` (vocabulary, normaliser, pre-tokeniser, the [CLS]/[SEP] template), truncated at
``max_seq_length`` of ``sentence_bert_config.json`` (else the tokenizer's ``model_max_length``
capped at the model's ``max_position_embeddings``), on ``truncation_side``; never padded (one text).
The truncation and fixed padding that a ``tokenizer.json`` may itself carry (MiniLM's says 128) are
replaced by these, as transformers replaces them.

This module imports neither torch nor transformers (``tests/video_qa/test_cli.py`` checks a search
process by value).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

FORMAT = 1  # of the export folder; bump when its layout or meaning changes
GRAPH = "model.onnx"
MANIFEST = "manifest.json"
TOKENIZER = "tokenizer.json"
# copied next to the graph: what the tokenisation settings are read from
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "sentence_bert_config.json",
                   "config.json")
# a model folder's files whose size and modification time identify the model an export came from
SOURCE_FILES = ("config.json", "modules.json", "sentence_bert_config.json", "tokenizer.json", "tokenizer_config.json",
                "special_tokens_map.json", "vocab.txt", "1_Pooling/config.json", "2_Normalize/config.json",
                "model.safetensors", "pytorch_model.bin")
ONNX_TOLERANCE = 1e-4  # largest difference, per component, from sentence-transformers' vector
EXPORTS = "query-embedder"  # under Settings.models_dir


class ExportRefused(RuntimeError):
    """The model cannot be exported for the light path (why in the message); it stays on PyTorch."""


def model_folder(location: str) -> Path | None:
    """The folder holding the model's files: ``location`` itself when it is a folder, else the
    local Hugging Face cache's snapshot of that hub id (None when it is not cached)."""
    path = Path(location).expanduser()
    if path.is_dir():
        return path.resolve()
    if "/" not in location or location.startswith(("/", ".", "~")):
        return None
    from huggingface_hub import snapshot_download  # only for hub ids, never for the bundled model
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return Path(snapshot_download(location, local_files_only=True)).resolve()
    except LocalEntryNotFoundError:
        return None


def source_identity(location: str) -> dict[str, Any] | None:
    """What identifies the model at ``location`` now (its folder, and ``[size, mtime_ns]`` of each
    of its ``SOURCE_FILES`` there), or None when it has no local folder. Stat calls only: this runs
    at every cold start of a search process."""
    folder = model_folder(location)
    if folder is None:
        return None
    files = {}
    for name in SOURCE_FILES:
        path = folder / name
        if path.is_file():
            stat = path.stat()
            files[name] = [stat.st_size, stat.st_mtime_ns]
    return {"folder": str(folder), "files": files}


def export_folder(models_dir: Path, location: str) -> Path:
    """Where the export of the model at ``location`` lives: one folder per model setting."""
    digest = hashlib.sha256(location.encode()).hexdigest()[:12]
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(location.rstrip("/")).name or "model")[:40]
    return Path(models_dir) / EXPORTS / f"{stem}-{digest}"


def file_sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


@dataclass(frozen=True)
class TokenizerSettings:
    """What sentence-transformers' ``Transformer`` module tokenises with, beyond tokenizer.json."""

    max_seq_length: int
    do_lower_case: bool
    truncation_side: str  # "right" or "left"


def _json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    value = json.loads(path.read_text(encoding="utf-8"))
    return value if isinstance(value, dict) else {}


def tokenizer_settings(folder: Path) -> TokenizerSettings:
    """The settings sentence-transformers derives from a model folder's files (see module doc)."""
    sbert = _json(folder / "sentence_bert_config.json")
    tokenizer_config = _json(folder / "tokenizer_config.json")
    length = sbert.get("max_seq_length")
    if length is None:
        length = int(tokenizer_config.get("model_max_length") or 512)
        positions = _json(folder / "config.json").get("max_position_embeddings")
        if isinstance(positions, int) and positions > 0:
            length = min(length, positions)
    side = tokenizer_config.get("truncation_side") or "right"
    return TokenizerSettings(int(length), bool(sbert.get("do_lower_case", False)), str(side))


def load_tokenizer(folder: Path, settings: TokenizerSettings):  # type: ignore[no-untyped-def]
    """``tokenizers.Tokenizer`` from ``folder``'s tokenizer.json, set up as sentence-transformers'."""
    from tokenizers import Tokenizer, normalizers

    tokenizer = Tokenizer.from_file(str(folder / TOKENIZER))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=settings.max_seq_length, strategy="longest_first",
                                direction=settings.truncation_side)
    if settings.do_lower_case:  # as sentence-transformers does: a Lowercase normaliser in front
        current = tokenizer.normalizer
        parts = [normalizers.Lowercase()] + ([current] if current is not None else [])
        tokenizer.normalizer = normalizers.Sequence(parts)
    return tokenizer


class QueryEmbedder:
    """One text's vector from an export folder: ``encode_query(text) -> (dimension,) float32``,
    equal to the heavy ``TextEmbedder.encode([text])[0]`` within ``ONNX_TOLERANCE``. One ONNX
    Runtime thread (a query is small; the other cores serve the database and other requests);
    safe to call from several threads at once."""

    def __init__(self, folder: Path) -> None:
        import onnxruntime

        self.folder = Path(folder)
        self.manifest = _json(self.folder / MANIFEST)
        if self.manifest.get("format") != FORMAT:
            raise ValueError(f"{self.folder}: export format {self.manifest.get('format')!r}, not {FORMAT}")
        self.settings = tokenizer_settings(self.folder)
        self._tokenizer = load_tokenizer(self.folder, self.settings)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only: not the optimiser's notes
        self._session = onnxruntime.InferenceSession(str(self.folder / GRAPH), options,
                                                     providers=["CPUExecutionProvider"])
        self._inputs = [i.name for i in self._session.get_inputs()]
        self.dimension = int(self.manifest["dimension"])
        self.name = f"onnxruntime {self.manifest.get('source', {}).get('folder', self.folder)}"

    def encode_query(self, text: str) -> np.ndarray:
        encoding = self._tokenizer.encode(text)
        given = {"input_ids": encoding.ids, "attention_mask": encoding.attention_mask,
                 "token_type_ids": encoding.type_ids}
        feeds = {name: np.asarray([given[name]], dtype=np.int64) for name in self._inputs}
        return np.asarray(self._session.run(None, feeds)[0][0], dtype=np.float32)

    def encode(self, texts: list[str]) -> np.ndarray:
        """(len(texts), dimension), one text at a time (for the odd caller that passes a list;
        batches belong to the heavy path)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self.encode_query(t) for t in texts])

    def verify(self) -> None:
        """Raise ``ValueError`` when the graph file's SHA-256 differs from the manifest's (reads the
        whole graph: for an explicit check, not for every start)."""
        found = file_sha256(self.folder / GRAPH)
        if found != self.manifest["graph"]["sha256"]:
            raise ValueError(f"{self.folder / GRAPH}: SHA-256 {found[:12]}..., the manifest says "
                             f"{self.manifest['graph']['sha256'][:12]}...")


def check_export(folder: Path, location: str) -> str | None:
    """Why the export folder cannot serve the model at ``location`` now, or None when it can
    (cheap: the manifest, stat calls; see module doc)."""
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        return f"no export in {folder}"
    try:
        manifest = _json(manifest_path)
    except (OSError, ValueError) as error:
        return f"{manifest_path} is unreadable ({error})"
    if manifest.get("format") != FORMAT:
        return f"{folder} holds export format {manifest.get('format')!r}, this version reads {FORMAT}"
    if not manifest.get("check", {}).get("passed"):
        return f"{folder}: its probe check did not pass"
    if manifest.get("location") != location or manifest.get("source") != source_identity(location):
        return f"{folder} was exported from another version of the model (its files changed since)"
    graph = folder / GRAPH
    size = manifest.get("graph", {}).get("bytes")
    if not graph.is_file() or graph.stat().st_size != size:
        return f"{graph} is missing or not the size the manifest records"
    if not (folder / TOKENIZER).is_file():
        return f"{folder / TOKENIZER} is missing"
    return None


def load_query_embedder(models_dir: Path, location: str) -> tuple[QueryEmbedder | None, str]:
    """(the light embedder, its folder) when a valid export of ``location`` is in ``models_dir``,
    else (None, why)."""
    folder = export_folder(models_dir, location)
    why = check_export(folder, location)
    if why is not None:
        return None, why
    try:
        return QueryEmbedder(folder), str(folder)
    except Exception as error:  # noqa: BLE001 - onnxruntime and tokenizers raise bare Exception subclasses
        # (InvalidProtobuf, a JSON error): not swallowed, returned as the reason to fall back (logged)
        return None, f"{folder} could not be loaded ({type(error).__name__}: {str(error)[:200]})"
