"""Where the analysis reports the seconds it spends per stage (decode, see, hear, read, embed)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol


class StageClock(Protocol):
    """``with clock(stage):`` adds the block's seconds to ``stage``; ``add`` adds them directly
    (``video_qa.pipeline.clock.Clock``). Side threads add to it too."""

    def __call__(self, stage: str) -> AbstractContextManager[None]: ...

    def add(self, stage: str, seconds: float) -> None: ...
