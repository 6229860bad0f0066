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
    assert set(rows) == {"vision-language", "speech", "on-screen text", "text embeddings",
                         "image-text (visual search)", "shot labels"}
    assert rows["vision-language"].used.startswith("none")
    assert rows["image-text (visual search)"].used.startswith("none (visual search is off")
    assert "VIDEOQA_VISUAL_MODEL" in rows["image-text (visual search)"].used
    assert rows["shot labels"].used == "EfficientNet-Lite0 ImageNet classes + MTCNN faces + colours"  # what labels the shots
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


INGEST_SNIPPET = """
import json, sys, traceback
first = []
class Watch:  # records which file imports torch first, if anything does
    def find_spec(self, name, path=None, target=None):
        if name == "torch" and not first:
            first.append([f.filename for f in traceback.extract_stack()
                          if "importlib" not in f.filename and "<" not in f.filename][-1])
        return None
sys.meta_path.insert(0, Watch())
from videoqa_cli.main import main
rc = main(sys.argv[1:])
print(json.dumps({"rc": rc, "modules": sorted(sys.modules), "torch_from": first[0] if first else None}))
"""
HEAVY = ("transformers", "sentence_transformers")


def _cli_process(data_dir: Path, snippet: str, *argv: str, roots: Path | None = None) -> tuple[dict, str]:  # type: ignore[type-arg]
    import os
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(repo), "VIDEOQA_DATA_DIR": str(data_dir), "VIDEOQA_LOG_LEVEL": "INFO",
           "VIDEOQA_ARCHIVE_ROOTS": str(roots or data_dir)}
    done = subprocess.run([sys.executable, "-c", snippet, *argv], capture_output=True, text=True, env=env,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1]), done.stderr


def test_a_fresh_data_folders_first_ingest_exports_in_a_child_and_never_imports_pytorch(tmp_path: Path) -> None:
    from model.embeddings.folder import check_export, export_folder
    from tests.factories.media import slide_deck
    from video_qa.analyzers import embed_source

    video = slide_deck(tmp_path / "deck.mp4", seconds=12, counter=False, caption=None,
                       slides=((0.0, 6.0, "QUARTERLY PLAN"), (6.0, 12.0, "HIRING ROADMAP")))
    data = tmp_path / "fresh"
    result, log = _cli_process(data, INGEST_SNIPPET, "ingest", str(video), "--wait", roots=tmp_path)
    assert result["rc"] == 0, log[-3000:]
    assert [m for m in HEAVY if m in result["modules"]] == []  # the embeddings ran on ONNX Runtime
    assert result["torch_from"] is None, result["torch_from"]  # no vision model: nothing imports PyTorch
    assert "onnxruntime" in result["modules"]
    assert "by a child process in" in log  # the export ran in a child (which did load PyTorch)
    location = embed_source(load_settings(embed_model="bundled")).location
    assert check_export(export_folder(data / "models", location), location) is None

    search = ("import contextlib, io, json, sys\nfrom videoqa_cli.main import main\nout = io.StringIO()\n"
              "with contextlib.redirect_stdout(out):\n    rc = main(sys.argv[1:])\n"
              "print(json.dumps({'rc': rc, 'out': out.getvalue(), 'modules': sorted(sys.modules)}))")
    found, _ = _cli_process(data, search, "search", "hiring roadmap", "--json", roots=tmp_path)
    hits = json.loads(found["out"])
    assert found["rc"] == 0 and [m for m in HEAVY + ("torch",) if m in found["modules"]] == []
    assert hits and "HIRING ROADMAP" in hits[0]["text"].upper()  # the ingest's vectors find the slide


# --- the one text embedder, as ingest, search and ask get it ------------------------------------


@pytest.fixture(scope="module")
def query_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data folder for the embedder tests (an export is made once, by the first)."""
    return tmp_path_factory.mktemp("query") / "data"


def test_a_search_without_an_export_exports_in_a_child_once(query_data: Path, monkeypatch: pytest.MonkeyPatch,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    import numpy as np

    from model.embeddings import store
    from model.embeddings.factory import heavy_embedder, text_embedder
    from model.embeddings.folder import check_export, export_folder
    from video_qa.analyzers import embed_source, get_embedder

    monkeypatch.setattr(store, "_known_exports", {})  # no export of this process to link: the child runs
    caplog.set_level("INFO")  # an earlier test's `videoqa models` left the root logger at WARNING
    settings = load_settings(embed_model="bundled", device="cpu", data_dir=query_data)
    location = embed_source(settings).location
    first = get_embedder(settings)
    assert first is not None and first.path == ""
    query = "when was the marketing budget approved"
    vector = first.encode_query(query)
    assert "by a child process in" in caplog.text
    heavy = heavy_embedder(location, "cpu").encode([query])[0]
    assert vector.shape == (384,) and float(np.abs(vector - heavy).max()) < 1e-4
    folder = export_folder(settings.models_dir, location)
    assert check_export(folder, location) is None and first.path == f"onnxruntime ({folder})"  # for the next process
    assert get_embedder(settings) is first  # one per process
    text_embedder.clear()  # as a new process finds it
    again = get_embedder(settings)
    assert again is not None and again is not first
    assert float(np.abs(again.encode_query(query) - heavy).max()) < 1e-4 and again.path == first.path


def test_export_embedder_finds_the_export_and_checks_it(query_data: Path) -> None:
    from model.embeddings.onnx import OnnxEmbedder
    from video_qa.analyzers import export_embedder, get_embedder

    settings = load_settings(embed_model="bundled", device="cpu", data_dir=query_data)
    light = export_embedder(settings)  # the previous test's export: found, not made again
    embedder = get_embedder(settings)
    assert isinstance(light, OnnxEmbedder) and embedder is not None and embedder.load() is light


def test_no_embedder_when_embeddings_are_off(tmp_path: Path) -> None:
    from model.embeddings.folder import EXPORTS
    from video_qa.analyzers import export_embedder, get_embedder

    settings = load_settings(embed_model="off", data_dir=tmp_path / "data")
    assert get_embedder(settings) is None and export_embedder(settings) is None
    assert not (settings.models_dir / EXPORTS).exists()  # no export made


def test_a_data_folder_that_cannot_hold_the_export_leaves_queries_on_pytorch(tmp_path: Path,
                                                                            caplog: pytest.LogCaptureFixture) -> None:
    import numpy as np

    from model.embeddings.factory import heavy_embedder
    from video_qa.analyzers import embed_source, export_embedder, get_embedder

    data = tmp_path / "blocked-data"  # not the fixture's data folder, whose models folder exists
    data.mkdir()
    (data / "models").write_text("a file where the models folder would be")  # mkdir fails: an OSError
    settings = load_settings(embed_model="bundled", device="cpu", data_dir=data)
    fallback = get_embedder(settings)
    assert fallback is not None
    vector = fallback.encode_query("quarterly budget")
    assert export_embedder(settings) is None and "embedding with sentence-transformers (PyTorch)" in caplog.text
    assert fallback.path.startswith("pytorch: ") and "cannot be written" in fallback.path
    heavy = heavy_embedder(embed_source(settings).location, "cpu")
    assert np.array_equal(vector, heavy.encode(["quarterly budget"])[0])
