"""Private PostgreSQL and Redis servers for the reliability suite: real servers on their own ports
and folders, so a test can kill and restart them without touching the shared ones."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.factories.processes import free_port


def _pg_bin() -> Path:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parts[-3]))
    if not versions:
        raise RuntimeError("PostgreSQL server binaries not found under /usr/lib/postgresql")
    return versions[-1].parent


def _as_postgres(args: list[str]) -> list[str]:
    """Run as the postgres user when we are root (the server refuses to run as root)."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def _wait(check: "callable", what: str, timeout: float = 30) -> None:  # type: ignore[valid-type]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not start in {timeout:.0f} s")


@dataclass
class PrivatePostgres:
    port: int = field(default_factory=free_port)
    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="videoqa-pg-")))
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/videoqa"

    def init(self) -> "PrivatePostgres":
        data = self.folder / "data"
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        subprocess.run(_as_postgres([str(_pg_bin() / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                                     "--no-sync"]), check=True, capture_output=True)
        self.start()
        subprocess.run([str(_pg_bin() / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                        "videoqa"], check=True, capture_output=True)
        return self

    def _ready(self) -> bool:
        return subprocess.run([str(_pg_bin() / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port),
                               "-U", "postgres"]).returncode == 0

    def start(self) -> None:
        log = open(self.folder / "server.log", "ab")
        self.process = subprocess.Popen(
            _as_postgres([str(_pg_bin() / "postgres"), "-D", str(self.folder / "data"), "-p", str(self.port),
                          "-k", str(self.folder), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                          "-c", "max_connections=200"]),
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        _wait(self._ready, "PostgreSQL")

    def crash(self) -> None:
        """SIGKILL the postmaster's whole group: what a power cut or an OOM kill does to the server."""
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
            # the children may outlive the postmaster for a moment; wait until the port is free
            _wait(lambda: not self._ready(), "PostgreSQL shutdown")
            # what a killed postmaster leaves behind; a real restart after a crash finds the same
            for leftover in (self.folder / "data" / "postmaster.pid", *self.folder.glob(".s.PGSQL.*")):
                leftover.unlink(missing_ok=True)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)  # fast shutdown (runuser does not pass it on)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        shutil.rmtree(self.folder, ignore_errors=True)


@dataclass
class PrivateRedis:
    port: int = field(default_factory=free_port)
    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="videoqa-redis-")))
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _ready(self) -> bool:
        return subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True).stdout.strip() == b"PONG"

    def start(self) -> "PrivateRedis":
        log = open(self.folder / "server.log", "ab")
        # like the machine's Redis: nothing kept on disk, so a restart loses every queued message
        self.process = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                                         "--save", "", "--appendonly", "no", "--dir", str(self.folder)],
                                        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        _wait(self._ready, "Redis")
        return self

    def crash(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=30)

    def stop(self) -> None:
        self.crash()
        shutil.rmtree(self.folder, ignore_errors=True)
