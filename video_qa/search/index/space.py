"""The vector spaces of moments: which table (and which of its rows) an index is built from and
read against, and what its folder is called.

- ``TEXT``: the moments' text embeddings (``moment_embeddings``, the text embedder's space);
- ``visual_space(model)``: the image embeddings of visual moments made by one image model
  (``visual_embeddings`` rows of that ``model``). Vectors of two image models are not comparable
  (their dimensions differ too), so each model is a space of its own.

Every part of the index machinery (``rows``, ``live``, ``query``, ``build``, ``registry``) takes a
``Space``; there is one copy of the index code for every space.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.orm import InstrumentedAttribute

from video_qa.models import MomentEmbedding, VisualEmbedding

TEXT_NAME, VISUAL_NAME = "text", "visual"


class Space:
    """A vector space: ``table``'s rows (those meeting ``conditions``), keyed by the moment's id
    (``moment_id``), the float32 vector in ``vector``. ``key`` tells spaces apart (registry,
    manifests); ``suffix`` is added to the database's index folder name (empty for the text space,
    whose folder keeps its name)."""

    def __init__(self, name: str, table: Any, moment_id: InstrumentedAttribute[int],
                 vector: InstrumentedAttribute[bytes], conditions: tuple[ColumnElement[bool], ...] = (),
                 model: str = "") -> None:
        self.name = name
        self.table = table
        self.moment_id = moment_id
        self.vector = vector
        self.conditions = conditions
        self.model = model

    @property
    def key(self) -> str:
        return f"{self.name}:{self.model}" if self.model else self.name

    @property
    def suffix(self) -> str:
        if self.name == TEXT_NAME:
            return ""
        return f"-{self.name}-" + hashlib.sha256(self.model.encode()).hexdigest()[:8]

    def __repr__(self) -> str:
        return f"Space({self.key!r})"


TEXT = Space(TEXT_NAME, MomentEmbedding, MomentEmbedding.moment_id, MomentEmbedding.embedding)

_visual: dict[str, Space] = {}


def visual_space(model: str) -> Space:
    """The space of the image vectors ``model`` made (one ``Space`` object per model)."""
    held = _visual.get(model)
    if held is None:
        held = _visual[model] = Space(VISUAL_NAME, VisualEmbedding, VisualEmbedding.moment_id, VisualEmbedding.embedding,
                                      (VisualEmbedding.model == model,), model)
    return held
