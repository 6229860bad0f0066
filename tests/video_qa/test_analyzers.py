from __future__ import annotations

import json
from pathlib import Path

import pytest

from model.sources import BackendUnavailable
from video_qa.analyzers import check_backends, describe_backends
from videoqa_cli.main import main
from video_qa.config import load_settings


def test_offline_defaults_are_all_available() -> None:
    rows = {r.role: r for r in describe_backends(load_settings())}
    assert set(rows) == {"vision-language", "speech", "on-screen text", "text embeddings"}
    assert rows["vision-language"].used.startswith("none")
    for role in ("speech", "on-screen text", "text embeddings"):
        assert rows[role].available, rows[role]
        assert Path(rows[role].location).is_dir()
    check_backends(load_settings())


def test_unavailable_backend_names_the_setting(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIDEOQA_SPEECH_MODEL", "/nowhere/whisper")
    with pytest.raises(BackendUnavailable, match="VIDEOQA_SPEECH_MODEL"):
        check_backends(load_settings())
    assert main(["models"]) == 1
    captured = capsys.readouterr()
    assert "VIDEOQA_SPEECH_MODEL" in captured.err and "NOT AVAILABLE" in captured.out


def test_hub_id_not_cached_is_unavailable_offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    rows = {r.role: r for r in describe_backends(load_settings(embed_model="someone/some-embedder", speech_model="small"))}
    assert not rows["text embeddings"].available and "downloaded" in rows["text embeddings"].used
    assert not rows["speech"].available


def test_models_json_marks_the_tiny_test_model(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from model.tiny import TINY_MARKER

    folder = tmp_path / "tiny"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({TINY_MARKER: True}))
    monkeypatch.setenv("VIDEOQA_VLM_MODEL", str(folder))
    assert main(["models", "--json"]) == 0
    rows = {r["role"]: r for r in json.loads(capsys.readouterr().out)}
    assert "TEST MODEL" in rows["vision-language"]["used"]
