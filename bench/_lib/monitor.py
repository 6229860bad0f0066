"""Measuring processes: CPU and memory of process trees sampled while they run (``TreeMonitor``),
one child's wall time and peak RSS (``run_child``), and a process's memory now (``self_rss_mb``,
``smaps_mb``)."""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

SAMPLE_SECONDS = 0.5


class TreeMonitor(threading.Thread):
    """Every SAMPLE_SECONDS: the CPU seconds of each process in the trees under ``roots`` (the last
    value seen per process, less what it had used when first seen at the start) and the largest
    RSS of the processes in ``rss_pids`` or, with ``rss_trees``, in their trees."""

    def __init__(self, roots: list[int], rss_pids: list[int], rss_trees: bool) -> None:
        super().__init__(daemon=True)
        import psutil

        self.psutil = psutil
        self.roots = [psutil.Process(pid) for pid in roots]
        self.rss_pids, self.rss_trees = set(rss_pids), rss_trees
        self.cpu: dict[tuple[int, float], float] = {}
        self.base: dict[tuple[int, float], float] = {}
        self.peak_rss = 0
        self.samples = 0
        self.began = time.perf_counter()
        self._halt = threading.Event()
        self.sample(first=True)

    def procs(self) -> list[tuple[Any, bool]]:
        """(process, counts for RSS) for every process in the trees."""
        out = []
        for root in self.roots:
            try:
                rss = root.pid in self.rss_pids
                out += [(root, rss), *((c, rss and self.rss_trees) for c in root.children(recursive=True))]
            except self.psutil.NoSuchProcess:
                continue
        return out

    def sample(self, first: bool = False) -> None:
        for p, rss in self.procs():
            try:
                key = (p.pid, p.create_time())
                t = p.cpu_times()
                self.cpu[key] = t.user + t.system
                if first:
                    self.base[key] = self.cpu[key]
                if rss:
                    self.peak_rss = max(self.peak_rss, p.memory_info().rss)
            except (self.psutil.NoSuchProcess, self.psutil.ZombieProcess, self.psutil.AccessDenied):
                continue
        self.samples += 1

    def run(self) -> None:
        while not self._halt.wait(SAMPLE_SECONDS):
            self.sample()

    def stop(self) -> dict[str, float]:
        """Stop sampling: average CPU % over the wall time, CPU seconds, peak RSS MB, samples."""
        self._halt.set()
        self.join()
        wall = time.perf_counter() - self.began
        used = sum(v - self.base.get(k, 0.0) for k, v in self.cpu.items())
        return {"cpu_percent": 100.0 * used / wall, "cpu_seconds": used, "peak_rss_mb": self.peak_rss / 2**20,
                "samples": self.samples}


def run_child(cmd: list[str], **popen: Any) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MB from ``wait4``, stdout) of one child process, its output kept in
    temporary files; raises with the end of its stderr when it fails."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        began = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, **popen)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - began
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise RuntimeError(f"{cmd} failed ({proc.returncode}): {err.read()[-2000:]}")
        return elapsed, usage.ru_maxrss / 1024, out.read()


def self_rss_mb() -> float:
    """This process's resident memory now, MB."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def smaps_mb(pid: int) -> dict[str, int]:
    """RSS, PSS and private (anonymous) memory of a process, whole MB (keys rss, pss, anonymous)."""
    out = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("Rss", "Pss", "Anonymous"):
            out[key.lower()] = int(value.split()[0]) // 1024
    return out
