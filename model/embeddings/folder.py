"""The export folder: what the ONNX export of a text-embedding model holds, and when it is valid.

An export lives in ``export_folder(models_dir, location)`` (one folder per model setting, under
the data folder's ``models/``):

- ``model.onnx``: transformer + mean pooling + L2 normalisation, inputs ``input_ids`` and
  ``attention_mask``, output the sentence vector;
- the model folder's tokenizer files, copied as they are (``tokenizer.json``,
  ``tokenizer_config.json``, ``sentence_bert_config.json``, ``config.json``, ...);
- ``manifest.json``: the format version, the source model's identity (its folder and the size and
  modification time of each of its files), the graph's size and SHA-256, the dimension, and the
  result of the check made before the folder was put in place (the vectors of probe sentences
  against sentence-transformers'; ``ONNX_TOLERANCE``).

``check_export`` accepts an export only when its format is this one, its source identity equals
the model's now (a changed or reinstalled model is exported again), its graph has the recorded
size and its check passed; else it says why.

Tokenisation matches sentence-transformers' ``Transformer`` module, read from the copied files:
``tokenizer.json`` (vocabulary, normaliser, pre-tokeniser, the [CLS]/[SEP] template), truncated at
``max_seq_length`` of ``sentence_bert_config.json`` (else the tokenizer's ``model_max_length``
capped at the model's ``max_position_embeddings``), on ``truncation_side``. The truncation and
fixed padding that a ``tokenizer.json`` may itself carry (MiniLM's says 128) are replaced by
these, as transformers replaces them.

Imports neither torch nor transformers.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from model.sources import local_folder

if TYPE_CHECKING:
    from tokenizers import Tokenizer

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
    """The model cannot be exported (why in the message): it runs on sentence-transformers."""


def source_identity(location: str) -> dict[str, Any] | None:
    """What identifies the model at ``location`` now (its folder, and ``[size, mtime_ns]`` of each
    of its ``SOURCE_FILES`` there), or None when it has no local folder. Stat calls only: this runs
    at every cold start of a search process."""
    folder = local_folder(location)
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


def read_json(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``; {} when there is no such file."""
    if not path.is_file():
        return {}
    value = json.loads(path.read_text(encoding="utf-8"))
    return value if isinstance(value, dict) else {}


def tokenizer_settings(folder: Path) -> TokenizerSettings:
    """The settings sentence-transformers derives from a model folder's files (see module doc)."""
    sbert = read_json(folder / "sentence_bert_config.json")
    tokenizer_config = read_json(folder / "tokenizer_config.json")
    length = sbert.get("max_seq_length")
    if length is None:
        length = int(tokenizer_config.get("model_max_length") or 512)
        positions = read_json(folder / "config.json").get("max_position_embeddings")
        if isinstance(positions, int) and positions > 0:
            length = min(length, positions)
    side = tokenizer_config.get("truncation_side") or "right"
    return TokenizerSettings(int(length), bool(sbert.get("do_lower_case", False)), str(side))


def load_tokenizer(folder: Path, settings: TokenizerSettings) -> Tokenizer:
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


def pad_token(folder: Path, tokenizer: Tokenizer) -> tuple[str, int]:
    """The padding token and its id, as the model's tokenizer files name it ([PAD] for BERT)."""
    found = read_json(folder / "tokenizer_config.json").get("pad_token") or read_json(
        folder / "special_tokens_map.json").get("pad_token") or "[PAD]"
    if isinstance(found, dict):  # {"content": "[PAD]", ...}
        found = found.get("content") or "[PAD]"
    token_id = tokenizer.token_to_id(str(found))
    return str(found), int(token_id) if token_id is not None else 0


def check_export(folder: Path, location: str) -> str | None:
    """Why the export folder cannot serve the model at ``location`` now, or None when it can
    (cheap: the manifest, stat calls; see module doc)."""
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        return f"no export in {folder}"
    try:
        manifest = read_json(manifest_path)
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
