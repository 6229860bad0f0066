"""``videoqa migrate``."""

from __future__ import annotations

import argparse
import logging
import sys
import time

from sqlalchemy.exc import OperationalError

from video_qa.config import Settings
from video_qa.migrate import upgrade

log = logging.getLogger(__name__)


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    """Upgrade the schema; with --wait, first wait up to that many seconds for the database to answer
    (the prestart step of a deployment, where the database may still be starting)."""
    url = settings.resolved_database_url
    deadline = time.monotonic() + max(0.0, args.wait)
    while True:
        try:
            upgrade(url, args.revision)
            break
        except OperationalError as error:
            if time.monotonic() >= deadline:
                print(f"videoqa: the database does not answer: {str(error.orig).strip()[:300]}", file=sys.stderr)
                return 1
            log.info("waiting for the database (%s)", type(error.orig).__name__)
            time.sleep(1.0)
    print(f"database migrated to {args.revision}")
    return 0
