from __future__ import annotations

from pathlib import Path

import pytest

from tests.video_qa.media.helpers import (
    Scene, looped_video, moving_video, slides_video, still_video, surveillance_video,
)


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generated media shared by the media tests (each file is made once per session)."""
    return tmp_path_factory.mktemp("media")


# ---- scenes with changes at known times (helpers.Scene); small and short, made once a session

@pytest.fixture(scope="session")
def still_scene(media_dir: Path) -> Scene:
    return still_video(media_dir / "still.mp4", seconds=40.0)


@pytest.fixture(scope="session")
def slides_scene(media_dir: Path) -> Scene:
    return slides_video(media_dir / "slides.mp4", seconds=40.0, gaps=(13.0, 14.0))  # changes at 13, 27


@pytest.fixture(scope="session")
def event_scene(media_dir: Path) -> Scene:
    return surveillance_video(media_dir / "events.mp4", seconds=30.0, gaps=(11.0,))  # events at 11, 22


@pytest.fixture(scope="session")
def moving_scene(media_dir: Path) -> Scene:
    return moving_video(media_dir / "moving.mp4", seconds=10.0)


@pytest.fixture(scope="session")
def looped_scene(media_dir: Path) -> Scene:
    """A 15 s slide segment (changes at 6 and 12 s) played 4 times: 60 s, changes every few seconds."""
    segment = slides_video(media_dir / "segment.mp4", seconds=15.0, gaps=(6.0,))
    return looped_video(media_dir / "looped.mp4", segment, 4)
