"""The light query path: the bundled MiniLM exported once (ONNX graph, tokenizer files, manifest)
and read back with ONNX Runtime and ``tokenizers`` only, giving the heavy path's vectors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from model.embed import TextEmbedder, export_query_model
from model.query_embed import (FORMAT, GRAPH, MANIFEST, TOKENIZER, ExportRefused, QueryEmbedder, check_export,
                               export_folder, load_query_embedder, load_tokenizer, source_identity,
                               tokenizer_settings)
from video_qa.analyzers import embed_source
from video_qa.config import load_settings

REPO = Path(__file__).resolve().parents[2]
LONG = "the harbour crane lifts a red container onto the waiting truck " * 40  # far past 256 tokens
QUERIES = ["quarterly budget", "", "   ", "x", LONG, "Ünïcode · 東京 ?! émigré naïve café 😀", "a\tb\nc  ",
           "WHEN was the Marketing Budget APPROVED?", "see [appendix] <b>bold</b> & \"quotes\""]
HEAVY = ("torch", "transformers", "sentence_transformers", "gradio")


@pytest.fixture(scope="module")
def location() -> str:
    return embed_source(load_settings(embed_model="bundled")).location


@pytest.fixture(scope="module")
def heavy(location: str, tmp_path_factory: pytest.TempPathFactory) -> TextEmbedder:
    """The heavy embedder with a models folder: it exports there when it loads the model."""
    return TextEmbedder(location, device="cpu", export_dir=tmp_path_factory.mktemp("data") / "models")


@pytest.fixture(scope="module")
def exported(heavy: TextEmbedder, location: str) -> Path:
    heavy.encode(["load the model"])  # the first load exports (once per process and folder)
    assert heavy.export_dir is not None
    folder = export_folder(heavy.export_dir, location)
    assert check_export(folder, location) is None
    return folder


def linked_copy(folder: Path, to: Path) -> Path:
    """A copy of an export folder (the graph hard-linked: no 90 MB copy), for tests that spoil it."""
    shutil.copytree(folder, to, copy_function=os.link)
    (to / MANIFEST).unlink()
    shutil.copyfile(folder / MANIFEST, to / MANIFEST)
    return to


def test_the_light_vector_equals_the_heavy_one(exported: Path, heavy: TextEmbedder) -> None:
    light = QueryEmbedder(exported)
    assert (light.dimension, light.name.startswith("onnxruntime")) == (384, True)
    reference = heavy.encode(QUERIES)  # sentence-transformers, PyTorch
    for query, expected in zip(QUERIES, reference):
        vector = light.encode_query(query)
        assert vector.dtype == np.float32 and vector.shape == (384,)
        assert float(np.abs(vector - expected).max()) < 1e-4, query[:40]


def test_truncation_is_the_models_256_tokens_not_tokenizer_json_s_128(exported: Path, heavy: TextEmbedder) -> None:
    """MiniLM's tokenizer.json carries truncation at 128 and fixed padding to 128; sentence-transformers
    cuts at sentence_bert_config.json's 256 and pads nothing for one text. The light path does too."""
    saved = json.loads((exported / TOKENIZER).read_text())
    assert saved["truncation"]["max_length"] == 128 and saved["padding"]["strategy"] == {"Fixed": 128}
    settings = tokenizer_settings(exported)
    assert (settings.max_seq_length, settings.do_lower_case, settings.truncation_side) == (256, False, "right")
    tokenizer = load_tokenizer(exported, settings)
    assert len(tokenizer.encode(LONG).ids) == 256 and len(tokenizer.encode("x").ids) == 3
    # the 128-token prefix gives another vector: a light path cut at 128 would fail the equality above
    light = QueryEmbedder(exported)
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
    QueryEmbedder(exported).verify()  # the SHA-256 matches
    assert not [p for p in exported.parent.iterdir() if p.name.startswith(".")]  # no temporary folder left


def test_a_search_process_loads_the_export_without_pytorch(exported: Path, heavy: TextEmbedder, location: str) -> None:
    snippet = ("import json, sys; from pathlib import Path; from model.query_embed import load_query_embedder; "
               "light, where = load_query_embedder(Path(sys.argv[1]), sys.argv[2]); "
               "print(json.dumps({'where': where, 'vector': light.encode_query(sys.argv[3]).tolist(), "
               "'modules': sorted(sys.modules)}))")
    assert heavy.export_dir is not None
    out = subprocess.run([sys.executable, "-c", snippet, str(heavy.export_dir), location, "quarterly budget"],
                         capture_output=True, text=True, check=True, cwd=REPO).stdout
    result = json.loads(out)
    assert result["where"] == str(exported)
    assert [m for m in HEAVY if m in result["modules"]] == []
    assert "onnxruntime" in result["modules"] and "tokenizers" in result["modules"]
    assert float(np.abs(np.array(result["vector"]) - heavy.encode(["quarterly budget"])[0]).max()) < 1e-4


def test_an_export_that_does_not_fit_is_refused_with_the_reason(exported: Path, location: str,
                                                                 tmp_path: Path) -> None:
    def spoiled(name: str, change) -> str | None:  # type: ignore[no-untyped-def]
        models = tmp_path / name
        folder = linked_copy(exported, export_folder(models, location))
        change(folder)
        light, why = load_query_embedder(models, location)
        assert light is None
        return why

    def manifest(edit):  # type: ignore[no-untyped-def]
        def change(folder: Path) -> None:
            value = json.loads((folder / MANIFEST).read_text())
            edit(value)
            (folder / MANIFEST).write_text(json.dumps(value))
        return change

    assert "no export" in load_query_embedder(tmp_path / "empty", location)[1]
    assert "another version of the model" in spoiled(
        "changed", manifest(lambda m: m["source"]["files"]["model.safetensors"].__setitem__(0, 1)))
    assert "another version of the model" in spoiled("moved", manifest(lambda m: m.__setitem__("location", "/x")))
    assert "format" in spoiled("format", manifest(lambda m: m.__setitem__("format", FORMAT + 1)))
    assert "probe check did not pass" in spoiled("unchecked", manifest(lambda m: m.__setitem__("check", {"passed": False})))
    assert "not the size" in spoiled("cut", lambda f: _replace(f / GRAPH, (f / GRAPH).read_bytes()[:1000]))
    assert "unreadable" in spoiled("garbled", lambda f: (f / MANIFEST).write_text("{not json"))
    size = (exported / GRAPH).stat().st_size
    why = spoiled("garbage", lambda f: _replace(f / GRAPH, b"\0" * size))  # same size, not a graph
    assert "could not be loaded" in why


def _replace(path: Path, content: bytes) -> None:
    path.unlink()  # hard-linked to the real export: replace, never write through
    path.write_bytes(content)


def test_verify_finds_a_changed_graph(exported: Path, tmp_path: Path) -> None:
    folder = linked_copy(exported, tmp_path / "copy")
    content = bytearray((folder / GRAPH).read_bytes())
    light = QueryEmbedder(folder)
    content[-1] ^= 0xFF
    _replace(folder / GRAPH, bytes(content))
    with pytest.raises(ValueError, match="SHA-256"):
        light.verify()


def test_a_second_export_replaces_a_stale_one_in_place(exported: Path, heavy: TextEmbedder, location: str,
                                                       tmp_path: Path) -> None:
    models = tmp_path / "models"
    folder = linked_copy(exported, export_folder(models, location))
    value = json.loads((folder / MANIFEST).read_text())
    value["source"]["files"]["config.json"][1] += 1  # the model changed since
    (folder / MANIFEST).write_text(json.dumps(value))
    assert check_export(folder, location) is not None
    assert export_query_model(heavy._load(), location, models) == folder
    assert check_export(folder, location) is None
    assert sorted(p.name for p in folder.parent.iterdir()) == [folder.name]  # nothing left aside


def test_other_poolings_are_refused(location: str, tmp_path: Path) -> None:
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import Pooling, Transformer

    transformer = Transformer(location)
    cls = SentenceTransformer(modules=[transformer, Pooling(384, pooling_mode="cls")], device="cpu")
    with pytest.raises(ExportRefused, match="pooling 'cls' is not mean"):
        export_query_model(cls, location, tmp_path)
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
