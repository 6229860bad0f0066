from __future__ import annotations

from pathlib import Path

import pytest

from video_qa.config import SettingsError, describe_settings, get_settings, load_settings


def test_defaults_embedded(tmp_path: Path) -> None:
    s = get_settings()
    assert s.data_dir == (tmp_path / "data").resolve()
    assert s.resolved_database_url == f"sqlite:///{s.data_dir / 'videoqa.db'}"
    assert s.embedded_broker
    assert s.resolved_media_dir == s.data_dir / "media"
    assert s.archive_roots == []


def test_archive_roots_split(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("VIDEOQA_ARCHIVE_ROOTS", f"{tmp_path}/a:{tmp_path}/b,{tmp_path}/c")
    assert load_settings().archive_roots == [tmp_path / "a", tmp_path / "b", tmp_path / "c"]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("VIDEOQA_WEB_PORT", "99999"),
        ("VIDEOQA_WEB_PORT", "eighty"),
        ("VIDEOQA_DATABASE_URL", "mysql://x"),
        ("VIDEOQA_BROKER_URL", "nonsense"),
        ("VIDEOQA_DEVICE", "tpu"),
        ("VIDEOQA_AUTH", "alice"),
        ("VIDEOQA_BASE_FPS", "-1"),
        ("VIDEOQA_MAX_FRAMES_PER_CLIP", "2"),
    ],
)
def test_invalid_value_names_variable(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert variable in str(info.value)


def test_pixel_bounds_cross_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIDEOQA_MIN_PIXELS", str(800 * 28 * 28))
    with pytest.raises(SettingsError, match="VIDEOQA_MIN_PIXELS"):
        load_settings()


def test_auth_pairs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIDEOQA_AUTH", "alice:s3cret:x, bob:pw")
    assert load_settings().auth_pairs() == [("alice", "s3cret:x"), ("bob", "pw")]


def test_every_setting_is_documented() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    for variable, _default, description in describe_settings():
        assert description, variable
        assert variable in readme, f"{variable} missing from README.md"
