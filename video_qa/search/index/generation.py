"""A published generation of a database's index folder, read only.

A folder (``location.index_folder``) holds::

    manifest.json            which generation is current, its watermark and counts (written last)
    vectors-<g>.faiss        faiss IVF-PQ index (inner product) of every moment with id <= watermark
    ids-<g>.npy              the ids it holds, sorted (int64)
    fps-<g>.npy              crc32 of each id's embedding bytes, in the order of ids-<g>.npy
    lock                     flock(2) file: one writer at a time, across processes (``build``)

Readers open a generation memory-mapped (``faiss.IO_FLAG_MMAP``: the PQ codes and ids of the
inverted lists stay in the file and are shared by every process through the page cache; ``np.load``
with ``mmap_mode='r'`` for the id and fingerprint arrays). A manifest that cannot be read, or names
files that are missing or disagree with each other, is reported as ``None`` by ``open_generation``.
"""

from __future__ import annotations

import json
import logging
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

log = logging.getLogger(__name__)

FORMAT = 1
MANIFEST = "manifest.json"
LOCK = "lock"
BUILD_AT = 50_000  # rows before a generation is written (below: the exact tail alone answers)


@dataclass
class Generation:
    """One published generation, opened memory-mapped."""

    folder: Path
    number: int
    index: Any  # faiss.IndexIVFPQ
    ids: np.ndarray  # sorted int64 (memory-mapped)
    fps: np.ndarray  # uint32, aligned with ids (memory-mapped)
    watermark: int  # every database id <= watermark was considered when this generation was written
    trained_rows: int  # rows the quantizers were trained for (a fold retrains when far outgrown)
    signature: tuple[int, int, int]  # the manifest's (inode, size, mtime_ns) when it was read

    @property
    def count(self) -> int:
        return len(self.ids)

    def fingerprints(self, wanted: np.ndarray) -> np.ndarray:
        """crc32 of each wanted id's vector as indexed; 0 where the id is not held (a real
        crc32 of 0 only makes one extra re-read)."""
        at = np.searchsorted(self.ids, wanted)
        at = np.minimum(at, max(0, len(self.ids) - 1))
        held = (self.ids[at] == wanted) if len(self.ids) else np.zeros(len(wanted), dtype=bool)
        return np.where(held, self.fps[at], 0).astype(np.uint32)


def fingerprint(blob: bytes) -> int:
    return zlib.crc32(blob)


def file_signature(path: Path) -> tuple[int, int, int] | None:
    """A file's (inode, size, mtime_ns): it changes when the file is replaced or rewritten; None
    when there is none."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def manifest_signature(folder: Path) -> tuple[int, int, int] | None:
    return file_signature(folder / MANIFEST)


def read_manifest(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / MANIFEST).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        log.warning("vector index %s: unreadable manifest (%s)", folder, error)
        return None
    return data if isinstance(data, dict) and data.get("format") == FORMAT else None


def open_generation(folder: Path) -> Generation | None:
    """The current generation, memory-mapped; None when there is none or it is damaged (logged)."""
    for _attempt in range(3):  # a writer may replace the manifest and remove old files meanwhile
        signature = manifest_signature(folder)
        manifest = read_manifest(folder)
        if manifest is None or signature is None:
            return None
        number = int(manifest["generation"])
        try:
            index = faiss.read_index(str(folder / manifest["index"]), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
            ids = np.load(folder / manifest["ids"], mmap_mode="r")
            fps = np.load(folder / manifest["fps"], mmap_mode="r")
        except FileNotFoundError:
            if manifest_signature(folder) != signature:
                continue  # replaced under us: read the new one
            log.warning("vector index %s: generation %d names missing files", folder, number)
            return None
        except (RuntimeError, OSError, ValueError) as error:  # faiss raises RuntimeError on a damaged file
            log.warning("vector index %s: generation %d unreadable (%s)", folder, number, error)
            return None
        if not (index.ntotal == len(ids) == len(fps) == int(manifest["count"])):
            log.warning("vector index %s: generation %d is inconsistent (%d vectors, %d ids, %d fingerprints)",
                        folder, number, index.ntotal, len(ids), len(fps))
            return None
        return Generation(folder, number, index, ids, fps, int(manifest["watermark"]),
                          int(manifest.get("trained_rows", index.ntotal)), signature)
    return None


def describe(index: Any) -> str:
    """The index's kind, e.g. ``IVF1024,PQ64x8``."""
    ivf = faiss.downcast_index(faiss.extract_index_ivf(index))
    return f"IVF{ivf.nlist},PQ{ivf.pq.M}x{ivf.pq.nbits}"
