"""Alembic migrations for kgys (SQLite and PostgreSQL)."""
