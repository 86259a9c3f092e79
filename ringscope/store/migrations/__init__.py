"""Alembic migrations of the verdict store, shipped inside the package.

Add a change as a new file in ``versions/`` whose ``down_revision`` is the current head;
:func:`ringscope.store.open_store` applies every pending migration on open.
"""
