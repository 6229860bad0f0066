"""Real processes for worker tests: the CLI and Celery workers, each with its own environment."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def multipart_file(content: bytes, filename: str) -> tuple[bytes, str]:
    """(body, Content-Type) of a form upload of one file in the field ``file`` (the API's upload)."""
    boundary = uuid.uuid4().hex
    quoted = filename.replace("\\", "\\\\").replace('"', '\\"')
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{quoted}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n").encode("utf-8")
    return head + content + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def videoqa_env(**settings: object) -> dict[str, str]:
    """This environment without any VIDEOQA_ setting, plus ``settings`` (names without prefix)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDEOQA_") or k.startswith("VIDEOQA_TEST_")}
    env.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1"})
    env.update({f"VIDEOQA_{k.upper()}": str(v) for k, v in settings.items()})
    return env


def run_cli(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "videoqa_cli", *args], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=timeout)


def start_cli(env: dict[str, str], *args: str, log: Path) -> subprocess.Popen[bytes]:
    """A CLI process in its own process group (so a kill reaches its children too)."""
    handle = log.open("ab")
    return subprocess.Popen([sys.executable, "-m", "videoqa_cli", *args], env=env, cwd=REPO, stdout=handle,
                            stderr=subprocess.STDOUT, start_new_session=True)


def kill_group(process: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass
    process.wait(timeout=30)


@contextmanager
def worker_process(env: dict[str, str], log: Path, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    """``videoqa worker`` until the block ends (then a warm shutdown, or a kill after 20 s)."""
    process = start_cli(env, "worker", *args, log=log)
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                kill_group(process)


def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.2, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
