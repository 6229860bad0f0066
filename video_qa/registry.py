"""Registering media: which paths may be ingested, and one video row per distinct content.

Only files inside the configured archive roots or the media folder (uploads) are accepted;
symbolic links and ``..`` are resolved first, so a link out of a root is refused like the path it
points to. Folders are walked recursively for media files. A file whose content (SHA-256) is
already registered is recognised as that video, even under another name or path.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from video_qa.config import Settings
from video_qa.models import Video

log = logging.getLogger(__name__)

MEDIA_SUFFIXES = frozenset(
    {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".mts", ".m2ts", ".wmv", ".flv", ".3gp", ".ogv"}
)


OUTSIDE = "outside the archive roots; add its folder to VIDEOQA_ARCHIVE_ROOTS"


class RegistrationRefused(Exception):
    """A path that may not be registered, with the reason. ``path`` is the path as the caller gave
    it, and the message names nothing else (the allowed roots go to the log only)."""

    def __init__(self, path: str | Path, reason: str, outside: bool = False) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason
        self.outside = outside  # refused because of where it lies (not what it is)


@dataclass(frozen=True)
class Registration:
    video_id: int
    path: str
    duplicate: bool  # the content was already registered (possibly under another path)


def allowed_roots(settings: Settings) -> list[Path]:
    return [settings.resolved_media_dir.resolve(), *settings.archive_roots]


def check_allowed(path: str | Path, settings: Settings) -> Path:
    """The resolved path, if it lies inside an allowed root; else ``RegistrationRefused``."""
    if "\x00" in str(path):
        raise RegistrationRefused(str(path).replace("\x00", "\\0"), "not a valid path (it holds a NUL byte)")
    try:
        resolved = Path(path).expanduser().resolve()
    except RuntimeError as error:  # "~user" of no such user: Path.expanduser cannot expand it
        raise RegistrationRefused(path, "not a valid path (its ~ names no user here)") from error
    roots = allowed_roots(settings)
    if not any(resolved == root or resolved.is_relative_to(root) for root in roots):
        log.warning("refused %s (resolved %s): outside the allowed roots %s", path, resolved,
                    ", ".join(str(r) for r in roots))
        raise RegistrationRefused(path, OUTSIDE, outside=True)
    if not resolved.exists():
        raise RegistrationRefused(path, "no such file or folder")
    return resolved


def expand(paths: list[str | Path], settings: Settings) -> tuple[list[Path], list[RegistrationRefused]]:
    """Files to register (folders walked for media files, in name order) and the refusals."""
    files: list[Path] = []
    refused: list[RegistrationRefused] = []
    for raw in paths:
        try:
            resolved = check_allowed(raw, settings)
        except RegistrationRefused as error:
            refused.append(error)
            continue
        if resolved.is_dir():
            found = sorted(p for p in resolved.rglob("*") if p.suffix.lower() in MEDIA_SUFFIXES and p.is_file())
            for p in found:
                try:
                    files.append(check_allowed(p, settings))  # a link inside may point out of the roots
                except RegistrationRefused as error:
                    refused.append(error)
            if not found:
                refused.append(RegistrationRefused(raw, "no media files in this folder"))
        elif resolved.is_file():
            files.append(resolved)
        else:
            refused.append(RegistrationRefused(raw, "not a regular file or folder"))
    unique = list(dict.fromkeys(files))
    return unique, refused


def file_sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def register_file(session: Session, path: Path, settings: Settings, title: str | None = None) -> Registration:
    """The video row for ``path`` (an allowed, resolved file), created when its content is new."""
    path = check_allowed(path, settings)
    if not path.is_file():
        raise RegistrationRefused(path, "not a regular file")
    sha = file_sha256(path)
    existing = session.scalars(select(Video).where(Video.sha256 == sha)).first()
    if existing is not None:
        if not Path(existing.path).is_file():  # moved or renamed: follow the content
            log.info("video %d: content found at %s (was %s)", existing.id, path, existing.path)
            existing.path = str(path)
        return Registration(existing.id, existing.path, duplicate=True)
    video = Video(title=title or path.stem, path=str(path), sha256=sha, size=path.stat().st_size)
    session.add(video)
    session.flush()
    log.info("video %d registered: %s", video.id, path)
    return Registration(video.id, str(path), duplicate=False)
