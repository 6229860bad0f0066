from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.factories.rows import make_video
from video_qa.cli import main
from video_qa.config import get_settings
from video_qa.db import engine_for, unit_of_work


def test_help_lists_commands() -> None:
    out = subprocess.run([sys.executable, "-m", "video_qa.cli", "--help"], capture_output=True, text=True, check=True)
    assert "migrate" in out.stdout and "videos" in out.stdout


def test_migrate_then_videos_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate"]) == 0
    with unit_of_work(engine_for(get_settings().resolved_database_url)) as session:
        make_video(session, title="Harbour cam", duration=3723.45)
    capsys.readouterr()
    assert main(["videos", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["title"], r["duration"], r["status"]) for r in rows] == [("Harbour cam", 3723.45, "pending")]
    assert main(["videos"]) == 0
    assert "1:02:03.5" in capsys.readouterr().out


def test_migrate_wait_gives_up_on_an_absent_database_naming_it(monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    import socket
    import time

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("VIDEOQA_DATABASE_URL", f"postgresql+psycopg://postgres@127.0.0.1:{port}/test")
    get_settings.cache_clear()
    started = time.monotonic()
    assert main(["migrate", "--wait", "2"]) == 1
    assert time.monotonic() - started >= 2  # it waited before giving up
    assert "the database does not answer" in capsys.readouterr().err


def test_bad_setting_exits_with_named_variable(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("VIDEOQA_WEB_PORT", "0")
    assert main(["videos"]) == 2
    assert "VIDEOQA_WEB_PORT" in capsys.readouterr().err


def test_server_database_not_migrated(monkeypatch: pytest.MonkeyPatch, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("VIDEOQA_DATABASE_URL", f"sqlite:///{tmp_path / 'server.db'}")
    assert main(["videos"]) == 1
    assert "videoqa migrate" in capsys.readouterr().err


def test_probe_and_plan_commands(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from tests.factories.media import index_video

    path = index_video(tmp_path / "clip.mp4", seconds=4)
    assert main(["probe", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["width"], info["height"], info["duration"]) == (320, 180, 4.0)
    assert main(["plan", str(path), "--json"]) == 0
    clips = json.loads(capsys.readouterr().out)
    assert [(c["start"], c["end"], c["fps"], c["frames"]) for c in clips] == [(0.0, 4.0, 2.0, 8)]


def test_probe_bad_file_names_it(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    assert main(["probe", str(bad)]) == 1
    err = capsys.readouterr().err
    assert str(bad) in err and "not a media file" in err


def test_describe_with_the_tiny_model_says_so(tmp_path, monkeypatch, capsys, tiny_model_dir) -> None:  # type: ignore[no-untyped-def]
    from tests.factories.media import index_video

    path = index_video(tmp_path / "clip.mp4", seconds=6)
    monkeypatch.setenv("VIDEOQA_VLM_MODEL", str(tiny_model_dir))
    monkeypatch.setenv("VIDEOQA_VLM_MAX_NEW_TOKENS", "8")
    monkeypatch.setenv("VIDEOQA_DEVICE", "cpu")
    assert main(["describe", str(path), "--json"]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert out["test_model"] is True and "test model" in out["model"]
    assert "meaningless" in captured.err
    assert out["clip"]["fps"] == 2.0
    assert all(0.0 <= e["start"] <= e["end"] <= 6.0 for e in out["events"])


def test_describe_without_a_model_names_the_setting(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["describe", str(tmp_path / "x.mp4")]) == 2
    assert "VIDEOQA_VLM_MODEL" in capsys.readouterr().err
