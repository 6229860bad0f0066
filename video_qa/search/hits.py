"""What a search gives: hits, the kinds of moment, a moment's uncertainty."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from video_qa.models import MomentKind

CANDIDATES = 50  # from each list before fusion
KINDS = tuple(k.value for k in MomentKind)


@dataclass
class Hit:
    video_id: int
    title: str
    start: float
    end: float
    kind: str
    text: str
    # where ``text`` matches the query: (start, end) code-point offsets, half-open, sorted
    # (``query.highlights``); the text itself is never marked up
    highlights: list[tuple[int, int]]
    score: float
    moment_ids: list[int] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    start_uncertainty: float = 0.0  # seconds the true start may lie before ``start``
    end_uncertainty: float = 0.0  # seconds the true end may lie after ``end``
    # each moment merged in: (start, end, text); not part of the JSON, nor of equality
    parts: list[tuple[float, float, str]] = field(default_factory=list, repr=False, compare=False)

    def own_parts(self) -> list[tuple[float, float, str]]:
        return self.parts or [(self.start, self.end, self.text)]

    def to_dict(self) -> dict[str, Any]:
        return {"video_id": self.video_id, "title": self.title, "start": round(self.start, 3),
                "end": round(self.end, 3), "kind": self.kind, "text": self.text,
                "highlights": [[s, e] for s, e in self.highlights],
                "score": round(self.score, 6), "moment_ids": self.moment_ids, "kinds": self.kinds,
                "start_uncertainty": round(self.start_uncertainty, 3),
                "end_uncertainty": round(self.end_uncertainty, 3)}


def uncertainty(meta: Any, key: str) -> float:
    """A moment's ``start_uncertainty`` / ``end_uncertainty`` (seconds) from its meta; 0.0 when
    missing or not a non-negative number."""
    value = meta.get(key) if isinstance(meta, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        return 0.0
    return float(value)

