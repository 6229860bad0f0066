"""The benchmarks' shared tools (bench/_lib): media commands, process measurement, the platform
line and the command line of every benchmark."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from bench._lib import child_env
from bench._lib.media import concat_copies, duration, ffmpeg, speech_mix
from bench._lib.monitor import run_child, self_rss_mb, smaps_mb
from bench._lib.report import command, machine_line, run_line
from tests.factories.media import frame_index, index_video

BENCHMARKS = ("analyzers", "archive", "cold_cli", "corpus", "decode", "fulltext", "ingest", "model", "moments", "plan",
              "search", "ui", "vector_choice", "vision")


def test_concat_copies_joins_the_unit_end_to_end(tmp_path: Path) -> None:
    unit = index_video(tmp_path / "unit.mp4", seconds=2, rate="10")
    out = concat_copies(unit, 3, tmp_path / "three.mp4", faststart=True)
    assert abs(duration(out) - 6.0) < 0.15
    assert not list(tmp_path.glob("*.concat.txt")) and not list(tmp_path.glob("*.part.mp4"))
    import av

    with av.open(str(out)) as container:
        indices = [frame_index(f.to_ndarray(format="rgb24")) for f in container.decode(video=0)]
    assert indices == list(range(20)) * 3  # each copy's frames in order, the unit three times


def test_speech_mix_puts_each_input_at_its_start(tmp_path: Path) -> None:
    out = tmp_path / "mix.wav"
    tone = "sine=f=440:r=22050:d=0.5"
    ffmpeg("-f", "lavfi", "-i", tone, "-f", "lavfi", "-i", tone, "-filter_complex",
           speech_mix((1.0, 3.0), 5.0, first_input=0), "-map", "[a]", "-ac", "1", str(out))
    with wave.open(str(out)) as w:
        assert w.getframerate() == 48000
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float32)
    assert abs(len(samples) / 48000 - 5.0) < 0.01
    loud = np.flatnonzero(np.abs(samples) > 1000) / 48000
    assert abs(loud[0] - 1.0) < 0.01 and abs(loud[-1] - 3.5) < 0.01
    assert not np.any((loud > 1.51) & (loud < 2.99))  # silence between the two


def test_run_child_reports_its_peak_memory_and_output() -> None:
    seconds, rss, out = run_child([sys.executable, "-c", "b = bytearray(300 * 2**20); print('held', len(b))"])
    assert out == f"held {300 * 2**20}\n" and rss >= 300 and seconds > 0
    with pytest.raises(RuntimeError, match="boom"):
        run_child([sys.executable, "-c", "import sys; sys.exit('boom')"])


def test_memory_of_this_process() -> None:
    held = bytearray(200 * 2**20)
    held[:: 4096] = b"x" * len(held[:: 4096])  # touch every page
    now = smaps_mb(os.getpid())
    assert now["rss"] >= 200 and now["anonymous"] >= 200 and abs(self_rss_mb() - now["rss"]) < 50
    del held


def test_child_env_replaces_videoqa_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIDEOQA_OCR", "false")
    env = child_env(data_dir=Path("/tmp/d"), vlm_model="")
    assert "VIDEOQA_OCR" not in env and env["VIDEOQA_DATA_DIR"] == "/tmp/d" and env["VIDEOQA_VLM_MODEL"] == ""
    assert env["HF_HUB_OFFLINE"] == env["TRANSFORMERS_OFFLINE"] == "1" and env["PATH"] == os.environ["PATH"]


def test_machine_line_and_run_line() -> None:
    line = machine_line()
    assert line.startswith(f"{os.cpu_count()} cores (") and " GiB, " in line and "Python 3." in line
    assert "ffmpeg " in line and "load average " in line
    assert command("ingest", "--rows", "talk10") == ".venv/bin/python -m bench.ingest --rows talk10"
    assert run_line("decode", "--quick").startswith("Run `.venv/bin/python -m bench.decode --quick` on 20")


@pytest.mark.filterwarnings("ignore:.*found in sys.modules:RuntimeWarning")  # runpy: imported by another benchmark
@pytest.mark.parametrize("name", BENCHMARKS)
def test_every_benchmark_runs_as_a_module(name: str, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", [f"bench.{name}", "--help"])
    with pytest.raises(SystemExit) as done:
        runpy.run_module(f"bench.{name}", run_name="__main__", alter_sys=True)
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: python -m bench.{name}")


def test_no_benchmark_changes_sys_path() -> None:
    found = subprocess.run(["grep", "-rn", "sys.path", "bench"], cwd=Path(__file__).resolve().parents[2],
                           capture_output=True, text=True)
    assert found.stdout == ""
