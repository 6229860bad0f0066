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


CUT = "not a complete video file (the end is missing); re-upload or re-download it"
DAMAGED = "not a readable video file (its data is damaged); re-upload or re-download it"


class DamagedMedia(MediaError):
    """A file that starts like a media file but whose data cannot be read: cut short (``cut``: its
    end is missing) or otherwise damaged. ``reason`` is in the user's words, with what to do;
    ``detail`` is what the media tools said (for the log, never shown to users)."""

    def __init__(self, path: str | Path, cut: bool, detail: str = "") -> None:
        self.cut, self.detail = cut, detail
        super().__init__(path, CUT if cut else DAMAGED)
