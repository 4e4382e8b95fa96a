"""The home server's SQLite transactions wait for each other instead of failing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

pytest.importorskip("prefect")


async def _read_then_write_while_another_writes(database: Path) -> int:
    """A transaction reads, another connection writes, then the first writes: what a
    worker's heartbeat does while a run's task states and logs are written."""
    import sqlalchemy as sa
    from prefect.server.database.configurations import AioSqliteConfiguration

    configuration = AioSqliteConfiguration(connection_url=f"sqlite+aiosqlite:///{database}")
    engine = await configuration.engine()
    async with engine.begin() as connection:
        await connection.execute(sa.text("CREATE TABLE beats (name TEXT)"))

    async def other_writer() -> None:
        session = await configuration.session(engine)
        async with session:
            await session.execute(sa.text("INSERT INTO beats VALUES ('log')"))
            await session.commit()

    session = await configuration.session(engine)
    async with session:
        async with configuration.begin_transaction(session):
            await session.execute(sa.text("SELECT count(*) FROM beats"))
            writing = asyncio.create_task(other_writer())
            await asyncio.sleep(0.5)  # the other write commits, or waits for this one
            await session.execute(sa.text("INSERT INTO beats VALUES ('heartbeat')"))
        await writing
        count = (await session.execute(sa.text("SELECT count(*) FROM beats"))).scalar_one()
    await engine.dispose()
    return int(count)


def test_a_write_after_a_read_waits_for_another_writer_instead_of_failing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.server.database.configurations import AioSqliteConfiguration

    from cli.server_database import serialize_sqlite_writes

    # Restored after the test: the patch is meant for the server process only.
    monkeypatch.setattr(
        AioSqliteConfiguration, "begin_transaction", AioSqliteConfiguration.begin_transaction
    )
    serialize_sqlite_writes()
    assert asyncio.run(_read_then_write_while_another_writes(tmp_path / "prefect.db")) == 2
