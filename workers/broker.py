"""The embedded broker: kombu's SQLAlchemy transport on a SQLite file, tuned for one machine.

kombu's transport hands every transport option to ``create_engine`` and polls once a second; this
subclass polls every 0.1 s (a task waits less than that for its message) and opens SQLite with WAL
and a busy timeout, so the CLI, the web app and the worker can share the file. Selected by the
URL scheme ``embedded+sqlite:///...`` (``Settings.resolved_broker_url``).

kombu keeps a delivered message with ``visible = False`` until it is deleted and has no
redelivery for a consumer that died: work lost that way is found by the ledger's recovery
(``video_qa.pipeline.recovery``), which also prunes delivered messages.
"""

from __future__ import annotations

import os

from kombu.transport import TRANSPORT_ALIASES
from kombu.transport.sqlalchemy import Channel, Transport
from sqlalchemy import create_engine, event

from video_qa.db import SQLITE_BUSY_TIMEOUT_MS, _sqlite_pragmas

SCHEME = "embedded"
POLLING_INTERVAL = 0.1


class EmbeddedChannel(Channel):
    _engines: dict = {}  # kombu's per-class engine cache; emptied in a forked child (see _open)
    _owner_pid: int | None = None

    def _open(self):  # type: ignore[no-untyped-def]
        if EmbeddedChannel._owner_pid != os.getpid():  # never share SQLite connections across fork
            EmbeddedChannel._engines = {}
            EmbeddedChannel._owner_pid = os.getpid()
        return super()._open()

    def _engine_from_config(self):  # type: ignore[no-untyped-def]
        url = self.connection.client.hostname
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine


class EmbeddedTransport(Transport):
    Channel = EmbeddedChannel
    polling_interval = POLLING_INTERVAL


TRANSPORT_ALIASES.setdefault(SCHEME, f"{__name__}:EmbeddedTransport")
