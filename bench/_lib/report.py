"""Benchmark tables in docs/benchmarks.md: the one line that says which machine a table was
measured on (``machine_line``), how to run a benchmark (``command``) and the writing of a table
between its markers (``write_block``)."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from datetime import date
from pathlib import Path

from bench._lib import ROOT

DOC = ROOT / "docs" / "benchmarks.md"


def command(name: str, *args: str) -> str:
    """How benchmark ``name`` runs from the repository root, with ``args``."""
    return " ".join([".venv/bin/python -m", f"bench.{name}", *args])


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gpus() -> str:
    """The NVIDIA GPUs ``nvidia-smi`` lists, or "no GPU"."""
    if shutil.which("nvidia-smi") is None:
        return "no GPU"
    done = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True,
                          check=False, timeout=30)
    names = [n.strip() for n in done.stdout.splitlines() if n.strip()] if done.returncode == 0 else []
    return ", ".join(names) or "no GPU"


def ffmpeg_version() -> str:
    if shutil.which("ffmpeg") is None:
        return "no ffmpeg"
    first = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True, check=False).stdout.split("\n")[0]
    return first.split(" Copyright")[0].replace("ffmpeg version", "ffmpeg")


def machine_line() -> str:
    """Cores and CPU model, memory, GPUs, architecture, Python and ffmpeg versions, and the
    1-minute load average now (other work on the machine shows there)."""
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{os.cpu_count()} cores ({cpu_model()}), {mem:.0f} GiB, {gpus()}, {platform.machine()}, "
            f"Python {platform.python_version()}, {ffmpeg_version()}, load average {os.getloadavg()[0]:.1f}")


def run_line(name: str, *args: str) -> str:
    """"Run `command` on DATE, on MACHINE" for the top of a table (no closing full stop)."""
    return f"Run `{command(name, *args)}` on {date.today().isoformat()}, on {machine_line()}"


def write_block(name: str, title: str, body: str) -> None:
    """Put ``body`` between ``<!-- name:start -->`` and ``<!-- name:end -->`` in docs/benchmarks.md,
    replacing what was there, or at the end under a new ``## title`` when the markers are absent."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{body}\n{end}"
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    if start in text:
        head, rest = text.split(start, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + f"\n\n## {title}\n\n" + block + "\n"
    DOC.write_text(text)
