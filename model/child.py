"""Running one of this package's modules in a short-lived child process.

``run_module("model.embeddings.export", [...])`` runs ``python -m`` that module with this
interpreter, the folder holding the ``model`` package first on ``PYTHONPATH``, waits for it and
returns None when it exited 0, else why not (its exit status and the last line it wrote to
stderr). What the child loads (PyTorch, for an export) goes with it when it exits.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[1])  # the folder holding the ``model`` package


def run_module(module: str, args: list[str], timeout_s: float) -> str | None:
    """Run ``python -m module *args`` and wait at most ``timeout_s`` seconds (see module doc)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    started = time.monotonic()
    try:
        done = subprocess.run([sys.executable, "-m", module, *args], env=env, cwd=ROOT, capture_output=True,
                              text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        return f"the export process ran past {timeout_s:.0f} s"
    except OSError as error:
        return f"the export process did not start ({error})"
    if done.returncode != 0:
        tail = (done.stderr or done.stdout or "").strip().splitlines()[-1:] or [""]
        return (f"the export process failed (exit {done.returncode}: {tail[0][:300]}) after "
                f"{time.monotonic() - started:.1f} s")
    return None
