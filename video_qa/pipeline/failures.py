"""What a failed part tells its users: the reason, naming the file as the user knows it.

The reason is stored on the item, the job and the video, and shown by the library, the API and the
CLI, so it never holds a server path: the video's file is named by the user's own name for it
(``file_name``) and any other absolute path is cut to its last component. The full paths go to
the log line only.
"""

from __future__ import annotations

import re
from pathlib import PurePath

from model.sources import BackendUnavailable
from video_qa.media.errors import MediaError
from video_qa.pipeline.ledger import VIDEO_LEVEL, ItemRef, WorkGone

UPLOAD_PREFIX = re.compile(r"^[0-9a-f]{12}_")  # video_qa/services/intake.upload_target: uuid4().hex[:12] + "_"
ABSOLUTE_PATH = re.compile(r"(?<![\w.~:/])(?:/[^\s/:'\"()\[\],;]+)+/?")

EXPECTED_ERRORS: tuple[type[Exception], ...] = (MediaError, BackendUnavailable, WorkGone)


def file_name(title: str | None, path: str) -> str:
    """The user's own name for a video's file: an upload's title (its name as uploaded, without the
    extension) with the stored file's extension; otherwise the file's base name."""
    stored = PurePath(path)
    if UPLOAD_PREFIX.match(stored.name):
        if title:
            return f"{title}{stored.suffix}" if not title.endswith(stored.suffix) else title
        return UPLOAD_PREFIX.sub("", stored.name)
    return stored.name or title or "the video"


def without_paths(text: str, path: str | None = None, name: str | None = None) -> str:
    """``text`` with the video's ``path`` replaced by ``name`` and any other absolute path by its
    last component."""
    if path and name:
        text = text.replace(path, name)

    def last(match: re.Match[str]) -> str:
        return UPLOAD_PREFIX.sub("", PurePath(match.group(0)).name) or "…"

    return ABSOLUTE_PATH.sub(last, text)


def reason(ref: ItemRef, error: BaseException, title: str | None, path: str | None) -> str:
    """The failure reason users see. Bad media reads ``<file name>: <reason>``; an error that is
    not one of ``EXPECTED_ERRORS`` (a bug) reads ``unexpected error (<type>: <message>)``."""
    where = "" if ref.clip_index == VIDEO_LEVEL else f"clip {ref.clip_index} ({ref.part}): "
    name = file_name(title, path) if path else None
    if isinstance(error, MediaError):
        return f"{where}{name or PurePath(error.path).name}: {without_paths(error.reason, error.path, name)}"
    text = without_paths(str(error), path, name)
    if isinstance(error, EXPECTED_ERRORS):
        return f"{where}{text}"
    return f"{where}unexpected error ({type(error).__name__}: {text}); the worker's log has the details"
