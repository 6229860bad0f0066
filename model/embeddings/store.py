"""A data folder's export of the text-embedding model: found there, linked from one this process
already uses, or made by a child process, under the folder's file lock.

``ensure_export(models_dir, location)`` returns the export folder when it holds a valid export
(``model.embeddings.folder.check_export``); else it takes an exclusive lock on
``<models_dir>/query-embedder/.export.lock`` (another process exporting the same model: this one
waits for it, then uses its export), and

- hard-links (or copies, on another file system) an export of the same model that this process
  loaded from another models folder (``remember``) into place, or
- runs ``python -m model.embeddings.export LOCATION MODELS_DIR`` and waits for it: the child
  loads sentence-transformers, exports, exits, and its memory goes with it.

Where no export can be made (a folder that cannot be written, a model that is not transformer +
mean pooling, a failed check, a child that fails) it returns why instead, and the caller embeds
with sentence-transformers.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import threading
import time
import uuid
from pathlib import Path

from model.child import run_module
from model.embeddings.folder import EXPORTS, check_export, export_folder

log = logging.getLogger(__name__)

EXPORT_TIMEOUT_S = 900.0
LOCK_FILE = ".export.lock"
_known_lock = threading.Lock()
_known_exports: dict[str, Path] = {}  # location -> a valid export folder this process loaded


def remember(location: str, folder: Path) -> None:
    """Note that ``folder`` holds a valid export of ``location`` that this process uses."""
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
    """Export ``location`` into ``models_dir`` in a child process and wait for it; None when it
    did, else why not. The caller holds the models folder's lock."""
    started = time.monotonic()
    why = run_module("model.embeddings.export", [location, str(models_dir)], timeout_s)
    if why is None:
        log.info("text embeddings: the model was exported to %s by a child process in %.1f s",
                 export_folder(models_dir, location), time.monotonic() - started)
    return why


def ensure_export(models_dir: Path, location: str) -> tuple[Path | None, str]:
    """(the export folder, "") when ``models_dir`` holds or now holds a valid export of
    ``location``; (None, why) when it cannot (see module doc)."""
    target = export_folder(models_dir, location)
    why = check_export(target, location)
    if why is None:
        return target, ""
    exports = Path(models_dir) / EXPORTS
    try:
        exports.mkdir(parents=True, exist_ok=True)
        lock = (exports / LOCK_FILE).open("a")
    except OSError as error:
        return None, f"{exports} cannot be written ({error.strerror or error})"
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process's export: wait for it, then use it
        try:
            why = check_export(target, location)
            if why is None:
                return target, ""
            log.info("text embeddings: %s", why)
            try:
                linked = _link_known_export(location, target)
            except OSError as error:
                log.info("text embeddings: could not link this process's export into %s (%s)", target, error)
                linked = False
            if not linked:
                failed = export_in_subprocess(location, models_dir)
                if failed is not None:
                    return None, failed
            why = check_export(target, location)
            return (target, "") if why is None else (None, why)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
