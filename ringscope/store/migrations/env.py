"""Alembic environment: runs migrations on the connection :mod:`ringscope.store` hands in.

Used by :func:`ringscope.store.migrate.upgrade`; with the ``alembic`` command line set
``sqlalchemy.url`` in the config instead.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

from ringscope.store.schema import Base

config = context.config
connection = config.attributes.get("connection")


def _run(conn) -> None:
    context.configure(
        connection=conn,
        target_metadata=Base.metadata,
        render_as_batch=conn.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    _run(connection)
else:
    engine = engine_from_config(
        config.get_section(config.config_ini_section, {}), poolclass=pool.NullPool
    )
    with engine.connect() as conn:
        _run(conn)
