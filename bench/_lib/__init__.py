"""What every benchmark shares: the repository's paths, the database a benchmark may create its
own databases in, the environment of a benchmark's child processes and its command line."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / "bench" / ".cache"  # generated files and kept archives, reused between runs
PG_ADMIN = os.environ.get("VIDEOQA_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def child_env(**settings: object) -> dict[str, str]:
    """This process's environment without its ``VIDEOQA_`` settings, offline for the model hubs,
    with each keyword as a VideoQA setting (``data_dir=...`` -> ``VIDEOQA_DATA_DIR``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDEOQA_")}
    env.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    env.update({f"VIDEOQA_{k.upper()}": str(v) for k, v in settings.items()})
    return env


def cli(name: str, doc: str | None) -> argparse.ArgumentParser:
    """The argument parser of ``python -m bench.NAME``; ``--help`` shows the module's docstring."""
    return argparse.ArgumentParser(prog=f"python -m bench.{name}", description=doc,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
