"""Alembic migrations of the slots ledger, run programmatically by slots.db.upgrade."""
