"""The verdict store: investigator verdicts, API keys and the audit log in SQL.

SQLite (WAL, ``synchronous=FULL``) is the embedded default; a ``postgresql://`` URL
(``RINGSCOPE_DATABASE_URL``) uses PostgreSQL. The schema is managed by the Alembic
migrations shipped in ``ringscope/store/migrations``; :func:`open_store` applies them.
"""

from ringscope.store.engine import StoreError
from ringscope.store.store import (
    OUTCOMES,
    ROLES,
    VERDICTS,
    ActorVerdictRecord,
    ApiKey,
    AuditRecord,
    SignupOutcomeRecord,
    Store,
    VerdictRecord,
    open_store,
)

__all__ = [
    "OUTCOMES",
    "ROLES",
    "VERDICTS",
    "ActorVerdictRecord",
    "ApiKey",
    "AuditRecord",
    "SignupOutcomeRecord",
    "Store",
    "StoreError",
    "VerdictRecord",
    "open_store",
]
