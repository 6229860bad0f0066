"""Media errors: every one names the file and the reason."""

from __future__ import annotations

from pathlib import Path


class MediaError(Exception):
    """A file that cannot be used as a video, with the reason.

    Permanent (``permanent`` is True): retrying the same file gives the same error.
    """

    permanent = True

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class MediaToolError(MediaError):
    """The media tools, not the file, failed: ffprobe is not installed or cannot be run, or was
    stopped by a signal. Not permanent: the same file may well work once the server is fixed."""

    permanent = False
