"""What a search is limited to: one ``Filters`` object that applies itself to a SQL statement.

The full-text query, the vector part's re-ranking and exact searches, and the reading of the hits'
rows all narrow their statement with ``Filters.apply``, so a filter means the same in each.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, select

from video_qa.models import Moment, Video


@dataclass(frozen=True)
class Filters:
    """A video, kinds of moment, a time range inside the video (moments that overlap it), upload
    dates; ``None`` / empty: not limited."""

    video_id: int | None = None
    kinds: tuple[str, ...] = ()
    start: float | None = None  # moments ending at or after this time in the video
    end: float | None = None  # moments starting at or before this time in the video
    uploaded_after: datetime | None = None
    uploaded_before: datetime | None = None

    @property
    def active(self) -> bool:
        """Some filter is set."""
        return bool(self.video_id is not None or self.kinds or self.start is not None or self.end is not None
                    or self.uploaded_after is not None or self.uploaded_before is not None)

    def conditions(self) -> list[ColumnElement[bool]]:
        """The conditions on ``moments`` (upload dates through a sub-query on ``videos``)."""
        found: list[ColumnElement[bool]] = []
        if self.video_id is not None:
            found.append(Moment.video_id == self.video_id)
        if self.kinds:
            found.append(Moment.kind.in_(self.kinds))
        if self.start is not None:
            found.append(Moment.end >= self.start)
        if self.end is not None:
            found.append(Moment.start <= self.end)
        if self.uploaded_after is not None or self.uploaded_before is not None:
            uploaded = select(Video.id)
            if self.uploaded_after is not None:
                uploaded = uploaded.where(Video.created_at >= self.uploaded_after)
            if self.uploaded_before is not None:
                uploaded = uploaded.where(Video.created_at <= self.uploaded_before)
            found.append(Moment.video_id.in_(uploaded))
        return found

    def apply(self, stmt: Select[Any], moment_id: ColumnElement[int] | None = None) -> Select[Any]:
        """``stmt`` limited to the moments these filters keep. ``moments`` must be in its FROM
        clause, or ``moment_id`` names the column of a moment's id that ``moments`` is joined on
        (joined only when some filter is set)."""
        conditions = self.conditions()
        if not conditions:
            return stmt
        if moment_id is not None:
            stmt = stmt.join(Moment, Moment.id == moment_id)
        return stmt.where(*conditions)
