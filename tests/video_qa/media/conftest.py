from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generated media shared by the media tests (each file is made once per session)."""
    return tmp_path_factory.mktemp("media")
