"""Media errors: every one names the file and the reason."""

from __future__ import annotations

from pathlib import Path


class MediaError(Exception):
    """A file that cannot be used as a video, with the reason.

    Permanent: retrying the same file gives the same error.
    """

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")
