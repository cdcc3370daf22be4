"""PostgreSQL: the pooled connections and transactions every function uses (``pool``), and the
numbered migrations (``migrate``, ``migrations/``).

``from realm import db`` gives the pool's public API; the migrations runner is imported on its
own (``from realm.db import migrate``) by the few callers that apply migrations.
"""

from realm.db.pool import (
    ConnectionFactory,
    DatabaseUnavailable,
    DataRejected,
    Pool,
    PoolExhausted,
    Row,
    Tx,
    UniqueViolation,
    connection_factory,
    connection_factory_for,
    pool,
    reading,
    transaction,
)

__all__ = [
    "ConnectionFactory",
    "DataRejected",
    "DatabaseUnavailable",
    "Pool",
    "PoolExhausted",
    "Row",
    "Tx",
    "UniqueViolation",
    "connection_factory",
    "connection_factory_for",
    "pool",
    "reading",
    "transaction",
]
