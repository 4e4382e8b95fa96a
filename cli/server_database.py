"""The home server's SQLite writes wait for each other instead of failing.

Prefect's server opens its SQLite transactions ``BEGIN DEFERRED`` unless a caller asks
for a row lock: such a transaction reads first and takes the write lock only at its
first write. In WAL mode, when another connection wrote in between, that upgrade fails
at once with ``database is locked`` (``SQLITE_BUSY_SNAPSHOT``): SQLite's busy timeout
cannot help a transaction whose snapshot is already stale. With ``make server``'s worker
online, its heartbeat (read the work pool, then upsert the worker row, every 30 s) met
the task-run, event and log writes of a training run this way, and ``server.log``
showed ``Worker channel heartbeat persistence failed`` with that traceback.

:func:`serialize_sqlite_writes` makes every such transaction ``BEGIN IMMEDIATE``: it
takes the write lock first, so a second writer waits under the busy timeout (Prefect
sets 60 s) for the first to commit instead of failing. Readers outside transactions are
not affected (WAL lets them read while one writes). The home server runs this before it
serves (:func:`cli.home_server.serve`).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Any


def serialize_sqlite_writes() -> None:
    """Make the server's explicit SQLite transactions ``BEGIN IMMEDIATE`` (in this process)."""
    from prefect.server.database.configurations import AioSqliteConfiguration

    deferred = AioSqliteConfiguration.begin_transaction
    if getattr(deferred, "immediate", False):
        return

    @asynccontextmanager
    async def begin_immediate(
        self: AioSqliteConfiguration, session: Any, with_for_update: bool = False
    ) -> AsyncGenerator[Any, None]:
        async with deferred(self, session, with_for_update=True) as transaction:
            yield transaction

    begin_immediate.immediate = True  # type: ignore[attr-defined]
    AioSqliteConfiguration.begin_transaction = begin_immediate  # type: ignore[method-assign]
