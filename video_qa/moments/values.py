"""Moments as values: what the analysis makes and what finalize reads back, with no database.

A ``NewMoment`` has absolute times (seconds from the video stream's start), its text, its
``meta`` (uncertainties, boxes, words, sampling interval) and, once embedded, its text vector;
a visual moment also has its keyframe's image vector and the name of the model that made it.
Embeddings are stored as ``EMBEDDING_DTYPE`` bytes (``pack_embedding`` / ``unpack_embedding``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

EMBEDDING_DTYPE = np.float32


@dataclass
class NewMoment:
    start: float
    end: float
    text: str
    meta: dict[str, Any] = field(default_factory=dict)
    embedding: np.ndarray | None = None
    image_embedding: np.ndarray | None = None  # visual moments: the keyframe's unit image vector
    image_model: str | None = None  # ... and the model that made it


def pack_embedding(vector: np.ndarray | None) -> bytes | None:
    return None if vector is None else np.asarray(vector, dtype=EMBEDDING_DTYPE).tobytes()


def unpack_embedding(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=EMBEDDING_DTYPE)


@dataclass
class FinalizeInputs:
    """What finalize reads of a video: every clip part's results."""

    duration: float
    clips: dict[int, int]  # clip index -> clip id
    text: list[NewMoment]  # every clip's text moments (meta, embedding) in time order
    speech: list[NewMoment]
    cuts: list[list[float]]  # [[time, uncertainty]] of the clips' scene cuts, in time order
    captions: list[tuple[float, float, str]]  # (start, end, caption) of clips the vision model described
    visual: list[NewMoment] = field(default_factory=list)  # every clip's visual moments, in time order
