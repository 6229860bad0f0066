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

import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
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
BATCH = 32  # texts per ONNX Runtime call when embedding a list (the ingest path)


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


def _pad_token(folder: Path, tokenizer) -> tuple[str, int]:  # type: ignore[no-untyped-def]
    """The padding token and its id, as the model's tokenizer files name it ([PAD] for BERT)."""
    found = _json(folder / "tokenizer_config.json").get("pad_token") or _json(
        folder / "special_tokens_map.json").get("pad_token") or "[PAD]"
    if isinstance(found, dict):  # {"content": "[PAD]", ...}
        found = found.get("content") or "[PAD]"
    token_id = tokenizer.token_to_id(str(found))
    return str(found), int(token_id) if token_id is not None else 0


class QueryEmbedder:
    """One text's vector from an export folder: ``encode_query(text) -> (dimension,) float32``,
    equal to the heavy ``TextEmbedder.encode([text])[0]`` within ``ONNX_TOLERANCE``. One ONNX
    Runtime thread (a query is small; the other cores serve the database and other requests);
    safe to call from several threads at once."""

    def __init__(self, folder: Path, threads: int = 1) -> None:
        import onnxruntime

        self.folder = Path(folder)
        self.manifest = _json(self.folder / MANIFEST)
        if self.manifest.get("format") != FORMAT:
            raise ValueError(f"{self.folder}: export format {self.manifest.get('format')!r}, not {FORMAT}")
        self.settings = tokenizer_settings(self.folder)
        self._tokenizer = load_tokenizer(self.folder, self.settings)
        self._batch_tokenizer = load_tokenizer(self.folder, self.settings)
        pad_token, pad_id = _pad_token(self.folder, self._batch_tokenizer)
        self._batch_tokenizer.enable_padding(pad_id=pad_id, pad_token=pad_token, pad_type_id=0, direction="right")
        self.threads = max(1, int(threads))
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self.threads
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

    def encode(self, texts: list[str], batch_size: int = BATCH) -> np.ndarray:
        """(len(texts), dimension) float32 unit-length rows, equal to sentence-transformers'
        ``encode(texts, normalize_embeddings=True)`` within ``ONNX_TOLERANCE``: batches of
        ``batch_size`` texts of similar length (sorted by length, so little padding), each padded to
        its longest with the attention mask masking the padding out of the graph's mean pooling."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        encodings = self._batch_tokenizer.encode_batch(texts) if len(texts) > 1 else None
        if encodings is None:
            return self.encode_query(texts[0])[None, :]
        # the padded lengths above are the batch's longest: re-pad per sorted batch below
        lengths = [sum(e.attention_mask) for e in encodings]
        order = sorted(range(len(texts)), key=lambda i: lengths[i])
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(order), max(1, batch_size)):
            chosen = order[start:start + max(1, batch_size)]
            longest = max(lengths[i] for i in chosen)
            given = {
                "input_ids": np.asarray([encodings[i].ids[:longest] for i in chosen], dtype=np.int64),
                "attention_mask": np.asarray([encodings[i].attention_mask[:longest] for i in chosen], dtype=np.int64),
                "token_type_ids": np.asarray([encodings[i].type_ids[:longest] for i in chosen], dtype=np.int64),
            }
            vectors = self._session.run(None, {name: given[name] for name in self._inputs})[0]
            out[chosen] = np.asarray(vectors, dtype=np.float32)
        return out

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


def load_query_embedder(models_dir: Path, location: str, threads: int = 1) -> tuple[QueryEmbedder | None, str]:
    """(the light embedder, on ``threads`` ONNX Runtime threads, and its folder) when a valid export
    of ``location`` is in ``models_dir``, else (None, why)."""
    folder = export_folder(models_dir, location)
    why = check_export(folder, location)
    if why is not None:
        return None, why
    try:
        return QueryEmbedder(folder, threads=threads), str(folder)
    except Exception as error:  # noqa: BLE001 - onnxruntime and tokenizers raise bare Exception subclasses
        # (InvalidProtobuf, a JSON error): not swallowed, returned as the reason to fall back (logged)
        return None, f"{folder} could not be loaded ({type(error).__name__}: {str(error)[:200]})"


# --- The ingest path: batches through the export, made by a short-lived subprocess ---------------
#
# An ingest embeds its moments' texts in batches. Through sentence-transformers that imports
# PyTorch into the ingest process (~855 MB of its peak RSS, ~4 s of load) although nothing else
# there needs it when no vision model is configured. ``OnnxTextEmbedder`` embeds them through the
# export instead; when the models folder holds no valid export, a child process (``python -m
# model.embed``: loads sentence-transformers, exports, exits, its memory returned) makes it while
# this one waits, under a file lock on the models folder so that two processes do not export at
# once. An export of the same model that this process already loaded from another models folder is
# hard-linked into place instead (tests make many data folders). Where no export can be made (a
# read-only folder, a model that is not transformer + mean pooling, a failed check) it embeds with
# the heavy ``model.embed.TextEmbedder`` in process (logged): slower and larger, never broken.

EXPORT_TIMEOUT_S = 900.0
LOCK_FILE = ".export.lock"
_known_lock = threading.Lock()
_known_exports: dict[str, Path] = {}  # location -> a valid export folder this process loaded


def _remember(location: str, folder: Path) -> None:
    with _known_lock:
        _known_exports[location] = folder


def _link_known_export(location: str, target: Path) -> bool:
    """Put a copy (hard links where the file system allows) of an export of ``location`` that this
    process loaded before into ``target``; False when there is none or it is no longer valid."""
    with _known_lock:
        known = _known_exports.get(location)
    if known is None or known == target or check_export(known, location) is not None:
        return False

    def link(source: str, destination: str) -> None:
        try:
            os.link(source, destination)
        except OSError:  # another file system
            shutil.copy2(source, destination)

    scratch = target.parent / f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        shutil.copytree(known, scratch, copy_function=link)
        if target.exists():
            shutil.rmtree(target)
        scratch.rename(target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return check_export(target, location) is None


def export_in_subprocess(location: str, models_dir: Path, timeout_s: float = EXPORT_TIMEOUT_S) -> str | None:
    """Export ``location`` into ``models_dir`` in a child process (``python -m model.embed``) and
    wait for it; None when it did, else why not. The caller holds the models folder's lock."""
    root = str(Path(__file__).resolve().parents[1])  # the folder holding the ``model`` package
    env = dict(os.environ)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    started = time.monotonic()
    try:
        done = subprocess.run([sys.executable, "-m", "model.embed", location, str(models_dir)], env=env, cwd=root,
                              capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        return f"the export process ran past {timeout_s:.0f} s"
    except OSError as error:
        return f"the export process did not start ({error})"
    took = time.monotonic() - started
    if done.returncode != 0:
        tail = (done.stderr or done.stdout or "").strip().splitlines()[-1:] or [""]
        return f"the export process failed (exit {done.returncode}: {tail[0][:300]}) after {took:.1f} s"
    log.info("text embeddings: the model was exported to %s by a child process in %.1f s",
             export_folder(models_dir, location), took)
    return None


def ensure_export(models_dir: Path, location: str, threads: int = 1) -> tuple[QueryEmbedder | None, str]:
    """(the light embedder, its folder) from ``models_dir``, exporting there first (in a child
    process, under the folder's lock) when it holds no valid export; (None, why) when it cannot."""
    light, where = load_query_embedder(models_dir, location, threads)
    if light is not None:
        return light, where
    exports = Path(models_dir) / EXPORTS
    try:
        exports.mkdir(parents=True, exist_ok=True)
        lock = (exports / LOCK_FILE).open("a")
    except OSError as error:
        return None, f"{exports} cannot be written ({error.strerror or error})"
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process's export: wait for it, then use it
        try:
            light, where = load_query_embedder(models_dir, location, threads)
            if light is not None:
                return light, where
            log.info("text embeddings: %s", where)
            target = export_folder(models_dir, location)
            try:
                linked = _link_known_export(location, target)
            except OSError as error:
                log.info("text embeddings: could not link this process's export into %s (%s)", target, error)
                linked = False
            if not linked:
                why = export_in_subprocess(location, models_dir)
                if why is not None:
                    return None, why
            return load_query_embedder(models_dir, location, threads)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class OnnxTextEmbedder:
    """The text embedder of the ingest path (``encode(texts)``, ``encode_query(text)``,
    ``dimension``, ``name``): ONNX Runtime on ``threads`` threads over the export in ``models_dir``,
    made by a child process when missing; the heavy in-process ``TextEmbedder`` where no export can
    be made (see above). Nothing is loaded until the first call; safe from several threads."""

    def __init__(self, location: str, models_dir: Path, threads: int = 1,
                 fallback: Callable[[], Any] | None = None, batch_size: int = BATCH) -> None:
        self.location = location
        self.models_dir = Path(models_dir)
        self.threads = max(1, int(threads))
        self._fallback = fallback  # builds the heavy embedder (``model.embed.TextEmbedder``)
        self.batch_size = batch_size
        self._lock = threading.Lock()
        self._backend: Any = None
        self.path = ""  # what embeds, once chosen: "onnxruntime (<folder>)" or "pytorch: <why>"

    def backend(self) -> Any:
        """The ``QueryEmbedder`` (or the heavy fallback) that embeds, chosen on the first call."""
        if self._backend is None:
            with self._lock:
                if self._backend is None:
                    self._backend = self._choose()
        return self._backend

    def _choose(self) -> Any:
        started = time.monotonic()
        light, where = ensure_export(self.models_dir, self.location, self.threads)
        if light is not None:
            _remember(self.location, light.folder)
            self.path = f"onnxruntime ({where})"
            log.info("text embeddings: batches through ONNX Runtime, %d thread(s), from %s (ready in %.1f s)",
                     self.threads, where, time.monotonic() - started)
            return light
        if self._fallback is None:
            raise RuntimeError(f"text embeddings: no ONNX export of {self.location} ({where}) and no fallback")
        self.path = f"pytorch: {where}"
        log.warning("text embeddings: no ONNX export (%s): embedding with sentence-transformers (PyTorch) "
                    "in this process", where)
        return self._fallback()

    @property
    def name(self) -> str:
        return str(self.backend().name)

    @property
    def dimension(self) -> int:
        return int(self.backend().dimension)

    def encode(self, texts: list[str]) -> np.ndarray:
        """(len(texts), dimension) float32, each row of unit length."""
        backend = self.backend()
        if isinstance(backend, QueryEmbedder):
            return backend.encode(texts, batch_size=self.batch_size)
        return np.asarray(backend.encode(texts), dtype=np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        """One text's vector (dimension,)."""
        backend = self.backend()
        if isinstance(backend, QueryEmbedder):
            return backend.encode_query(text)
        return np.asarray(backend.encode([text])[0], dtype=np.float32)
