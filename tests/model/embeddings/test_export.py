"""The export: the bundled MiniLM exported once (ONNX graph, tokenizer files, manifest) and read
back with ONNX Runtime and ``tokenizers`` only, giving sentence-transformers' vectors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from model.embeddings.export import export_model
from model.embeddings.factory import Embedder
from model.embeddings.folder import (FORMAT, GRAPH, MANIFEST, TOKENIZER, ExportRefused, check_export, export_folder,
                                     load_tokenizer, source_identity, tokenizer_settings)
from model.embeddings.heavy import SentenceTransformerEmbedder
from model.embeddings.onnx import OnnxEmbedder

REPO = Path(__file__).resolve().parents[3]
LONG = "the harbour crane lifts a red container onto the waiting truck " * 40  # far past 256 tokens
QUERIES = ["quarterly budget", "", "   ", "x", LONG, "Ünïcode · 東京 ?! émigré naïve café 😀", "a\tb\nc  ",
           "WHEN was the Marketing Budget APPROVED?", "see [appendix] <b>bold</b> & \"quotes\""]
HEAVY = ("torch", "transformers", "sentence_transformers", "gradio")


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data") / "models"


@pytest.fixture(scope="module")
def exported(heavy: SentenceTransformerEmbedder, location: str, models_dir: Path) -> Path:
    """The export made here, by the function the export's child process runs."""
    folder = export_model(heavy.model, location, models_dir)
    assert folder == export_folder(models_dir, location)
    assert check_export(folder, location) is None
    return folder


def linked_copy(folder: Path, to: Path) -> Path:
    """A copy of an export folder (the graph hard-linked: no 90 MB copy), for tests that spoil it."""
    shutil.copytree(folder, to, copy_function=os.link)
    (to / MANIFEST).unlink()
    shutil.copyfile(folder / MANIFEST, to / MANIFEST)
    return to


def test_the_onnx_vector_equals_the_heavy_one(exported: Path, heavy: SentenceTransformerEmbedder) -> None:
    light = OnnxEmbedder(exported)
    assert (light.dimension, light.name.startswith("onnxruntime")) == (384, True)
    reference = heavy.encode(QUERIES)  # sentence-transformers, PyTorch
    for query, expected in zip(QUERIES, reference):
        vector = light.encode_query(query)
        assert vector.dtype == np.float32 and vector.shape == (384,)
        assert float(np.abs(vector - expected).max()) < 1e-4, query[:40]


def test_truncation_is_the_models_256_tokens_not_tokenizer_json_s_128(exported: Path, heavy: SentenceTransformerEmbedder) -> None:
    """MiniLM's tokenizer.json carries truncation at 128 and fixed padding to 128; sentence-transformers
    cuts at sentence_bert_config.json's 256 and pads nothing for one text. The ONNX runner does too."""
    saved = json.loads((exported / TOKENIZER).read_text())
    assert saved["truncation"]["max_length"] == 128 and saved["padding"]["strategy"] == {"Fixed": 128}
    settings = tokenizer_settings(exported)
    assert (settings.max_seq_length, settings.do_lower_case, settings.truncation_side) == (256, False, "right")
    tokenizer = load_tokenizer(exported, settings)
    assert len(tokenizer.encode(LONG).ids) == 256 and len(tokenizer.encode("x").ids) == 3
    # the 128-token prefix gives another vector: a runner cut at 128 would fail the equality above
    light = OnnxEmbedder(exported)
    cut = tokenizer.decode(tokenizer.encode(LONG).ids[1:127])
    assert float(np.abs(light.encode_query(LONG) - heavy.encode([cut])[0]).max()) > 1e-3


def test_the_manifest_records_the_source_the_graph_and_the_check(exported: Path, location: str) -> None:
    manifest = json.loads((exported / MANIFEST).read_text())
    assert manifest["format"] == FORMAT and manifest["location"] == location
    assert manifest["source"] == source_identity(location)
    assert "model.safetensors" in manifest["source"]["files"] and "tokenizer.json" in manifest["source"]["files"]
    assert manifest["graph"]["bytes"] == (exported / GRAPH).stat().st_size > 50_000_000
    assert manifest["check"]["passed"] is True and manifest["check"]["max_difference"] < 1e-4
    assert manifest["tokenizer"] == {"max_seq_length": 256, "do_lower_case": False, "truncation_side": "right"}
    OnnxEmbedder(exported).verify()  # the SHA-256 matches
    assert not [p for p in exported.parent.iterdir() if p.name.startswith(".")]  # no temporary folder left


def test_a_search_process_loads_the_export_without_pytorch(exported: Path, heavy: SentenceTransformerEmbedder,
                                                           location: str, models_dir: Path) -> None:
    snippet = ("import json, sys; from pathlib import Path; from model.embeddings.factory import text_embedder; "
               "embedder = text_embedder(sys.argv[2], Path(sys.argv[1])); vector = embedder.encode_query(sys.argv[3]); "
               "print(json.dumps({'where': embedder.path, 'vector': vector.tolist(), 'modules': sorted(sys.modules)}))")
    out = subprocess.run([sys.executable, "-c", snippet, str(models_dir), location, "quarterly budget"],
                         capture_output=True, text=True, check=True, cwd=REPO).stdout
    result = json.loads(out)
    assert result["where"] == f"onnxruntime ({exported})"
    assert [m for m in HEAVY if m in result["modules"]] == []
    assert "onnxruntime" in result["modules"] and "tokenizers" in result["modules"]
    assert float(np.abs(np.array(result["vector"]) - heavy.encode(["quarterly budget"])[0]).max()) < 1e-4


def test_an_export_that_does_not_fit_is_refused_with_the_reason(exported: Path, location: str,
                                                                 tmp_path: Path) -> None:
    def spoiled(name: str, change) -> str | None:  # type: ignore[no-untyped-def]
        models = tmp_path / name
        folder = linked_copy(exported, export_folder(models, location))
        change(folder)
        return check_export(folder, location)

    def manifest(edit):  # type: ignore[no-untyped-def]
        def change(folder: Path) -> None:
            value = json.loads((folder / MANIFEST).read_text())
            edit(value)
            (folder / MANIFEST).write_text(json.dumps(value))
        return change

    assert "no export" in check_export(export_folder(tmp_path / "empty", location), location)
    assert "another version of the model" in spoiled(
        "changed", manifest(lambda m: m["source"]["files"]["model.safetensors"].__setitem__(0, 1)))
    assert "another version of the model" in spoiled("moved", manifest(lambda m: m.__setitem__("location", "/x")))
    assert "format" in spoiled("format", manifest(lambda m: m.__setitem__("format", FORMAT + 1)))
    assert "probe check did not pass" in spoiled("unchecked", manifest(lambda m: m.__setitem__("check", {"passed": False})))
    assert "not the size" in spoiled("cut", lambda f: _replace(f / GRAPH, (f / GRAPH).read_bytes()[:1000]))
    assert "unreadable" in spoiled("garbled", lambda f: (f / MANIFEST).write_text("{not json"))
    size = (exported / GRAPH).stat().st_size
    assert spoiled("garbage", lambda f: _replace(f / GRAPH, b"\0" * size)) is None  # same size, not a graph:
    embedder = Embedder(location, tmp_path / "garbage", device="cpu")  # it does not load
    embedder.encode(["x"])
    assert embedder.path.startswith("pytorch: ") and "could not be loaded" in embedder.path


def _replace(path: Path, content: bytes) -> None:
    path.unlink()  # hard-linked to the real export: replace, never write through
    path.write_bytes(content)


def test_verify_finds_a_changed_graph(exported: Path, tmp_path: Path) -> None:
    folder = linked_copy(exported, tmp_path / "copy")
    content = bytearray((folder / GRAPH).read_bytes())
    light = OnnxEmbedder(folder)
    content[-1] ^= 0xFF
    _replace(folder / GRAPH, bytes(content))
    with pytest.raises(ValueError, match="SHA-256"):
        light.verify()


def test_a_second_export_replaces_a_stale_one_in_place(exported: Path, heavy: SentenceTransformerEmbedder, location: str,
                                                       tmp_path: Path) -> None:
    models = tmp_path / "models"
    folder = linked_copy(exported, export_folder(models, location))
    value = json.loads((folder / MANIFEST).read_text())
    value["source"]["files"]["config.json"][1] += 1  # the model changed since
    (folder / MANIFEST).write_text(json.dumps(value))
    assert check_export(folder, location) is not None
    assert export_model(heavy.model, location, models) == folder
    assert check_export(folder, location) is None
    assert sorted(p.name for p in folder.parent.iterdir()) == [folder.name]  # nothing left aside


def test_other_poolings_are_refused(location: str, tmp_path: Path) -> None:
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import Pooling, Transformer

    transformer = Transformer(location)
    cls = SentenceTransformer(modules=[transformer, Pooling(384, pooling_mode="cls")], device="cpu")
    with pytest.raises(ExportRefused, match="pooling 'cls' is not mean"):
        export_model(cls, location, tmp_path)
    assert not (tmp_path / "query-embedder").exists() or not any((tmp_path / "query-embedder").iterdir())


def test_lower_case_and_length_settings_come_from_the_model_folder(exported: Path, tmp_path: Path) -> None:
    folder = tmp_path / "cased"
    folder.mkdir()
    tokenizer_json = json.loads((exported / TOKENIZER).read_text())
    tokenizer_json["normalizer"]["lowercase"] = False  # a cased vocabulary would keep "HARBOUR"
    (folder / TOKENIZER).write_text(json.dumps(tokenizer_json))
    (folder / "config.json").write_text(json.dumps({"max_position_embeddings": 300}))
    (folder / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 512}))
    settings = tokenizer_settings(folder)  # no sentence_bert_config.json: the tokenizer's, capped
    assert (settings.max_seq_length, settings.do_lower_case) == (300, False)
    assert load_tokenizer(folder, settings).encode("HARBOUR").ids != load_tokenizer(folder, settings).encode("harbour").ids
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 64, "do_lower_case": True}))
    settings = tokenizer_settings(folder)
    assert (settings.max_seq_length, settings.do_lower_case) == (64, True)
    lowered = load_tokenizer(folder, settings)
    assert lowered.encode("HARBOUR").ids == lowered.encode("harbour").ids
    assert len(lowered.encode(LONG).ids) == 64
