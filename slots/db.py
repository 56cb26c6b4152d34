"""The ledger's tables (SQLAlchemy 2), its engine for SQLite or PostgreSQL, and schema migrations (Alembic).

SQLite: every transaction starts with BEGIN IMMEDIATE, so writers queue on the database lock and an
admission's read-check-write is serial; WAL journal with synchronous=FULL, so an acknowledged commit survives
a killed server. PostgreSQL: the admission transaction takes the single ``ledger_lock`` row FOR UPDATE.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Engine,
    Float,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: The default ledger: a SQLite file in the current directory.
DEFAULT_URL = "sqlite:///slots.sqlite"


class Base(DeclarativeBase):
    pass


class Token(Base):
    """An API token: only its sha256 is stored; the token itself is printed once at creation."""

    __tablename__ = "tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    department: Mapped[str | None] = mapped_column(String(16), nullable=True)
    operator: Mapped[bool] = mapped_column(Boolean, default=False)
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class Request(Base):
    """A migration request and its answer."""

    __tablename__ = "requests"
    __table_args__ = (UniqueConstraint("department", "idempotency_key", name="uq_requests_idempotency"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    department: Mapped[str] = mapped_column(String(16), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    spec: Mapped[str] = mapped_column(Text)  # the RequestSpec as submitted, JSON
    earliest_week: Mapped[date] = mapped_column(Date)
    latest_week: Mapped[date] = mapped_column(Date)
    granted_week: Mapped[date | None] = mapped_column(Date, nullable=True)
    suggested_week: Mapped[date | None] = mapped_column(Date, nullable=True)
    binding: Mapped[str | None] = mapped_column(String(16), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    system_count: Mapped[int] = mapped_column(Integer)
    data_volume_gb: Mapped[float] = mapped_column(Float)
    weight: Mapped[int] = mapped_column(Integer, default=1)
    idempotency_key: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class AuditEntry(Base):
    """One state change of the ledger: who, what, which request, details as JSON."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    request_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    detail: Mapped[str] = mapped_column(Text, default="{}")


class LedgerLock(Base):
    """The single row every admission locks; ``version`` counts state changes (for the booked-state cache)."""

    __tablename__ = "ledger_lock"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)


def make_engine(url: str, *, writes: bool = True) -> Engine:
    """An engine for ``url`` (sqlite:///file or postgresql+psycopg://…) with the locking described above.

    On SQLite, ``writes=False`` gives an engine for reads only: plain deferred transactions, which in WAL
    mode read a snapshot without waiting for the writer."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # let BEGIN IMMEDIATE below start transactions
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA busy_timeout=60000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")

        return engine
    return create_engine(url, pool_size=10, max_overflow=30, pool_pre_ping=True)


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (idempotent; safe when several servers start)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Two servers starting at once must not both create the tables.
            connection.execute(text("SELECT pg_advisory_xact_lock(7270270)"))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
