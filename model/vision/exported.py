"""The base of the visual backends: a model run from its export folder, exported first when needed.

``ExportedModel`` is an ``InferenceModel`` whose ``_load`` makes sure the export in ``folder`` is
usable (``model.vision.exports.ensure``: the export process runs, under the kind's lock, when it
is missing or stale), raises ``BackendUnavailable`` with the subclass's message when it cannot be
made, and otherwise opens it (``_open``: ONNX Runtime sessions and what runs beside them).
``why_not_ready`` says, with stat calls only, why the export cannot be used yet (None: it can).
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from pathlib import Path
from typing import Any, TypeVar

from model.loading import InferenceModel
from model.sources import BackendUnavailable
from model.vision.exports import FORMAT, ensure, read_manifest, why_invalid

log = logging.getLogger(__name__)

Loaded = TypeVar("Loaded")


class ExportedModel(InferenceModel[Loaded]):
    kind: str  # the export folder's kind (``<models>/<kind>/``)
    export_format: int = FORMAT  # the manifest format this backend reads (an older one is exported again)

    def __init__(self, models_dir: Path, threads: int | None = 1) -> None:
        super().__init__(threads)
        self.models_dir = Path(models_dir)

    @property
    @abstractmethod
    def folder(self) -> Path:
        """The export folder this backend runs from."""

    @abstractmethod
    def source(self) -> dict[str, Any] | None:
        """The source model's identity now (None: it is not here)."""

    @abstractmethod
    def export_argv(self) -> list[str]:
        """The arguments of ``python -m model.vision.export`` that make the export."""

    @abstractmethod
    def unavailable(self, why: str) -> str:
        """The message of the ``BackendUnavailable`` raised when the export cannot be made."""

    @abstractmethod
    def _open(self, folder: Path, manifest: dict[str, Any]) -> Loaded:
        """What runs the export in ``folder``."""

    missing = "the model is not here"  # why_not_ready when ``source()`` is None

    def why_not_ready(self) -> str | None:
        source = self.source()
        return self.missing if source is None else why_invalid(self.folder, source, self.export_format)

    def _load(self) -> Loaded:
        why = ensure(self.models_dir, self.kind, self.why_not_ready, self.export_argv())
        if why is not None:
            raise BackendUnavailable(self.unavailable(why))
        folder = self.folder
        loaded = self._open(folder, read_manifest(folder))
        log.info("%s from %s, %s thread(s)", self.name, folder, self.threads or "default")
        return loaded
